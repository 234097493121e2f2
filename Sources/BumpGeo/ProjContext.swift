import CPROJ

/// Owns one PROJ context and keeps PROJ's last log message instead of letting PROJ print to stderr.
///
/// Every PROJ object created in the context must be destroyed before this object goes away;
/// `CRSTransformer` guarantees that by destroying its PJ in `deinit`, before its stored properties are released.
final class ProjContext {
    /// The `PJ_CONTEXT *`.
    let raw: OpaquePointer
    /// The most recent message PROJ logged (by default only errors are logged), or nil after `clearMessage()`.
    private(set) var lastMessage: String?

    init?() {
        guard let raw = proj_context_create() else { return nil }
        self.raw = raw
        // The context never outlives `self` (deinit destroys it), so an unretained pointer is safe.
        proj_log_func(raw, Unmanaged.passUnretained(self).toOpaque()) { appData, _, message in
            guard let appData, let message else { return }
            Unmanaged<ProjContext>.fromOpaque(appData).takeUnretainedValue().lastMessage = String(cString: message)
        }
    }

    deinit {
        proj_context_destroy(raw)
    }

    /// Forget the previous message so a later error does not quote a stale one.
    func clearMessage() {
        lastMessage = nil
    }

    /// Why the last PROJ call failed, e.g. "crs not found", for quoting after "PROJ says: ".
    ///
    /// Prefers the logged message (more specific than the error number: "Invalid latitude" rather than
    /// "Invalid coordinate"), minus its "function_name: " prefix, which means nothing to a user.
    func reason(errno: Int32 = 0) -> String {
        if let message = lastMessage {
            if let colon = message.firstRange(of: ": "), !message[..<colon.lowerBound].contains(" ") {
                return String(message[colon.upperBound...])
            }
            return message
        }
        // proj_context_errno_string may return NULL.
        if errno != 0, let text = proj_context_errno_string(raw, errno) {
            return String(cString: text)
        }
        return "no reason given"
    }
}
