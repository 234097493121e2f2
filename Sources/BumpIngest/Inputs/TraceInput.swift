import BumpCore

/// Where the files of a multi-file recording are: a folder, or a folder inside a zip archive.
public struct RecordingContainer: Sendable {
    enum Storage: Sendable {
        case folder(String)
        /// The archive, the folder in it that holds the recording ("" or "dir/"), and the
        /// recording's entries by path relative to that folder.
        case zip(ZipArchive, root: String, files: [String: ZipArchive.Entry])
    }

    let storage: Storage

    /// A folder on disk.
    static func folder(_ path: String) -> RecordingContainer { RecordingContainer(storage: .folder(path)) }

    /// The folder `root` ("" or "dir/") of a zip; macOS Finder's `__MACOSX/` and `._*` files and
    /// other dot files are not part of it.
    static func zip(_ archive: ZipArchive, root: String) -> RecordingContainer {
        var files: [String: ZipArchive.Entry] = [:]
        for entry in archive.entries where entry.name.hasPrefix(root) && !TraceInputs.isJunk(entry.name) {
            let name = String(entry.name.dropFirst(root.count))
            if files[name] == nil { files[name] = entry }
        }
        return RecordingContainer(storage: .zip(archive, root: root, files: files))
    }

    /// The folder or zip file.
    public var path: String {
        switch storage {
        case .folder(let path): path
        case .zip(let archive, _, _): archive.path
        }
    }

    /// True for a zip archive.
    var isZip: Bool {
        if case .zip = storage { return true }
        return false
    }

    /// Files of the recording by path relative to it ("/"-separated, sorted): the top level and `meta/`.
    func files() throws -> [String] {
        switch storage {
        case .folder(let root):
            var out: [String] = []
            for name in try FileSystem.entries(of: root) {
                let full = Self.join(root, name)
                if !FileSystem.isDirectory(full) {
                    out.append(name)
                } else if name == "meta" {
                    out += try FileSystem.entries(of: full).filter { !FileSystem.isDirectory(Self.join(full, $0)) }.map { "meta/" + $0 }
                }
            }
            return out.sorted()
        case .zip(_, _, let files):
            return files.keys.filter { !$0.contains("/") || ($0.hasPrefix("meta/") && $0.dropFirst(5).contains("/") == false) }.sorted()
        }
    }

    /// The zip's entries that are not files of the recording (outside its folder, or in a
    /// subfolder other than `meta/`), Finder's junk left out; none for a folder.
    func entriesOutside() throws -> [String] {
        guard case .zip(let archive, let root, _) = storage else { return [] }
        let inside = Set(try files().map { root + $0 })
        return archive.entries.map(\.name).filter { !inside.contains($0) && !TraceInputs.isJunk($0) }
    }

    /// A stream of one file's bytes (gzip-compressed files in folders are decompressed).
    func open(_ file: String) throws -> ByteSource {
        switch storage {
        case .folder(let root): return try ByteSource(path: Self.join(root, file))
        case .zip(let archive, _, _): return try archive.source(for: zipEntry(file))
        }
    }

    /// The first bytes of one file.
    func head(_ file: String) -> [UInt8] {
        switch storage {
        case .folder(let root): return ByteSource.head(of: Self.join(root, file))
        case .zip(let archive, _, _): return (try? zipEntry(file)).map { archive.head(of: $0) } ?? []
        }
    }

    /// The whole of a small file (at most `limit` bytes once decompressed).
    func contents(_ file: String, limit: Int = 1 << 20) throws -> [UInt8] {
        switch storage {
        case .folder(let root): return try ByteSource(path: Self.join(root, file)).readAll(limit: limit)
        case .zip(let archive, _, _): return try archive.contents(of: zipEntry(file), limit: limit)
        }
    }

    /// How a file is named in messages: `folder/file` or `archive.zip:dir/file`.
    func displayName(_ file: String) -> String {
        switch storage {
        case .folder(let root): return Self.join(root, file)
        case .zip(let archive, let root, _): return archive.path + ":" + root + file
        }
    }

    private func zipEntry(_ file: String) throws -> ZipArchive.Entry {
        guard case .zip(_, _, let files) = storage, let entry = files[file] else {
            throw FileError(path: path, message: "no entry '\(file)'")
        }
        return entry
    }

    static func join(_ folder: String, _ name: String) -> String {
        folder.hasSuffix("/") ? folder + name : folder + "/" + name
    }
}

/// One thing read as one trace: a file of any single-file format, a phone app's export
/// (folder or zip), or a GPX track with the accelerometer file recorded beside it.
public struct TraceInput: Sendable {
    public enum Kind: Sendable {
        /// One file (gzip or not).
        case file(String)
        /// A Sensor Logger export: per-sensor CSVs merged by time.
        case sensorLogger(RecordingContainer)
        /// A phyphox export: acceleration and location CSVs merged by time.
        case phyphox(RecordingContainer)
        /// A GPX track and an accelerometer file, joined by time.
        case gpxJoined(gpx: String, acceleration: String)
        /// Something that was meant to be read but cannot be (a zip that is no export): the reason.
        case unreadable(String)
        /// A file beside or inside an export that the recording does not read: the reason, for
        /// the report (nothing is dropped silently).
        case leftOut(String)
    }

    /// The path the input is known by in messages and in the store (file, folder or zip).
    public var path: String
    public var kind: Kind

    public init(path: String, kind: Kind) {
        self.path = path
        self.kind = kind
    }

    /// A single file.
    public static func file(_ path: String) -> TraceInput { TraceInput(path: path, kind: .file(path)) }

    /// The trip name of a recording without a trip column: the base name of the file, folder or zip.
    public var tripName: String {
        let trimmed = path.hasSuffix("/") ? String(path.dropLast()) : path
        var name = trimmed.split(separator: "/").last.map(String.init) ?? trimmed
        for suffix in [".gz", ".zip", ".gpx", ".csv", ".ndjson", ".jsonl", ".json", ".txt"] where name.lowercased().hasSuffix(suffix) {
            name = String(name.dropLast(suffix.count))
        }
        return name.isEmpty ? trimmed : name
    }
}

/// Turns the paths a user gave into inputs: recognises export folders and zips, pairs GPX
/// tracks with their accelerometer files, and lists the other files one by one.
public enum TraceInputs {
    /// Inputs for `paths` in order. `fromFolder` marks files found inside a folder (which may be
    /// skipped when they are not traces, e.g. truth.csv) as opposed to named ones. A zip that
    /// cannot be read is an `.unreadable` input, named or found, so the other inputs go on;
    /// files an export does not use are `.leftOut` inputs.
    public static func find(_ paths: [String]) throws -> [(input: TraceInput, fromFolder: Bool)] {
        var out: [(input: TraceInput, fromFolder: Bool)] = []
        var named: [String] = []
        func flushNamed() {
            out += pairGPX(named).map { ($0, false) }
            named.removeAll()
        }
        for path in paths {
            if FileSystem.isDirectory(path) {
                flushNamed()
                var onTheWay: [(device: UInt64, inode: UInt64)] = []
                out += try inputs(inFolder: path, top: true, onTheWay: &onTheWay)
            } else if path.lowercased().hasSuffix(".zip") {
                flushNamed()
                out += zipInputs(path).map { ($0, false) }
            } else {
                named.append(path)
            }
        }
        flushNamed()
        return out
    }

    /// The recording `container` holds, if it is one export (Sensor Logger or phyphox), and
    /// its files the recording does not read, each with the reason.
    ///
    /// A folder must look like a whole export, so that one phone-app CSV among other files does
    /// not turn the folder into one recording: Sensor Logger needs its acceleration file
    /// (`TotalAcceleration.csv` or `Accelerometer.csv`, with its header) and `Location.csv` or
    /// `Metadata.csv`; phyphox needs an acceleration file with its header and either `meta/` or
    /// its file set (only phyphox CSVs, acceleration and location). A zip is one recording by
    /// nature, so its acceleration file is enough.
    static func recording(in container: RecordingContainer) throws -> (kind: TraceInput.Kind, leftOut: [(file: String, reason: String)])? {
        let files = try container.files()
        let top = files.filter { !$0.hasPrefix("meta/") }
        let strict = !container.isZip

        // Sensor Logger: known file names, the acceleration file with the app's header.
        let roles = Dictionary(top.compactMap { f in SensorLoggerFormat.File(fileName: f).map { ($0, f) } }, uniquingKeysWith: { a, _ in a })
        if let acceleration = roles[.totalAcceleration] ?? roles[.accelerometer],
            SensorLoggerFormat.isSensorLoggerHeader(headerNames(container.head(acceleration))),
            !strict || roles[.location] != nil || roles[.metadata] != nil
        {
            let used = Set(roles.values)
            let leftOut = files.filter { !used.contains($0) }.map {
                ($0, "in a Sensor Logger export, not one of the files streetbump reads (\(SensorLoggerFormat.File.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            return (.sensorLogger(container), leftOut)
        }

        // phyphox: files by header.
        var kinds: [String: PhyphoxFormat.File] = [:]
        for file in top where isCSV(file) {
            if let (kind, _) = PhyphoxFormat.recognize(header: headerNames(container.head(file))) { kinds[file] = kind }
        }
        guard kinds.values.contains(.acceleration) else { return nil }
        if strict {
            let hasMeta = files.contains { $0.hasPrefix("meta/") }
            let fileSet = top.allSatisfy { kinds[$0] != nil } && kinds.values.contains(.location)
            guard hasMeta || fileSet else { return nil }
        }
        let leftOut = files.filter { !$0.hasPrefix("meta/") && (kinds[$0] == nil || kinds[$0] == .linearAcceleration) }.map {
            ($0, kinds[$0] == .linearAcceleration
                ? "phyphox acceleration without g, which bump detection cannot use" : "in a phyphox export, not one of its sensor files")
        }
        return (.phyphox(container), leftOut)
    }

    /// The inputs of a zip: the recording and the entries it leaves out, or why it cannot be read.
    private static func zipInputs(_ path: String) -> [TraceInput] {
        do {
            let archive = try ZipArchive(path: path)
            // The folder that holds the recording: the one all entries share, else the first
            // (shallowest) folder whose files are an export, e.g. beside a README or Finder's
            // __MACOSX folder.
            let visible = archive.entries.map(\.name).filter { !isJunk($0) }
            var roots = [commonFolder(visible)]
            for name in visible.sorted(by: { ($0.split(separator: "/").count, $0) < ($1.split(separator: "/").count, $1) }) where isCSV(name) {
                let folder = name.lastIndex(of: "/").map { String(name[...$0]) } ?? ""
                if !roots.contains(folder) { roots.append(folder) }
                if roots.count >= 64 { break }
            }
            for root in roots {
                let container = RecordingContainer.zip(archive, root: root)
                guard let (kind, leftOut) = try recording(in: container) else { continue }
                let place = root.isEmpty ? "in a folder of the zip that is not part of the recording" : "in the zip, outside the recording's folder '\(root)'"
                let outside = try container.entriesOutside().map { ("\(path):\($0)", place) }
                return [TraceInput(path: path, kind: kind)]
                    + (leftOut.map { (container.displayName($0.file), $0.reason) } + outside).map { TraceInput(path: $0.0, kind: .leftOut($0.1)) }
            }
            let files = visible.prefix(12).joined(separator: ", ")
            return [TraceInput(path: path, kind: .unreadable("not a Sensor Logger or phyphox export: no acceleration file with their header among \(files)"))]
        } catch let error as FileError {
            return [TraceInput(path: path, kind: .unreadable(error.message))]
        } catch {
            return [TraceInput(path: path, kind: .unreadable("\(error)"))]
        }
    }

    /// The inputs in `folder` and below. Links are followed, but not into a folder already on
    /// the way down (`onTheWay`: a link to a parent), so a loop reads nothing twice.
    private static func inputs(
        inFolder folder: String, top: Bool, onTheWay: inout [(device: UInt64, inode: UInt64)]
    ) throws -> [(input: TraceInput, fromFolder: Bool)] {
        let id = FileSystem.identity(folder)
        if let id {
            if onTheWay.contains(where: { $0 == id }) { return [] }
            onTheWay.append(id)
        }
        defer { if id != nil { onTheWay.removeLast() } }
        let container = RecordingContainer.folder(folder)
        var out: [(input: TraceInput, fromFolder: Bool)] = []
        let recording = try recording(in: container)
        if let (kind, leftOut) = recording {
            out.append((TraceInput(path: folder, kind: kind), !top))
            out += leftOut.map { (TraceInput(path: container.displayName($0.file), kind: .leftOut($0.reason)), true) }
        }
        var files: [String] = []
        for name in try FileSystem.entries(of: folder) {
            let full = RecordingContainer.join(folder, name)
            if FileSystem.isDirectory(full) {
                // An export's meta/ folder is part of it; any other folder is read on its own.
                if recording == nil || name != "meta" { out += try inputs(inFolder: full, top: false, onTheWay: &onTheWay) }
            } else if recording != nil {
                continue  // the export's files: read as the recording or listed as left out above
            } else if name.lowercased().hasSuffix(".zip") {
                // A zip that is not an export is reported, not silently skipped: it was meant to be read.
                out += zipInputs(full).map { ($0, true) }
            } else {
                files.append(full)
            }
        }
        out += pairGPX(files, pairLoneTrack: true).map { ($0, true) }
        return out.sorted { $0.input.path < $1.input.path }
    }

    /// GPX tracks paired with the accelerometer file of the same base name (or, in a folder with
    /// one track and one other trace, with that one); everything else as single files.
    static func pairGPX(_ files: [String], pairLoneTrack: Bool = false) -> [TraceInput] {
        let tracks = files.filter { isGPX($0) }
        guard !tracks.isEmpty else { return files.map(TraceInput.file) }
        var used = Set<String>()
        var out: [TraceInput] = []
        let others = files.filter { !isGPX($0) }
        for track in tracks {
            let base = TraceInput.file(track).tripName
            var partner = others.first { !used.contains($0) && TraceInput.file($0).tripName == base && !isGPX($0) }
            if partner == nil, pairLoneTrack, tracks.count == 1 {
                let traces = others.filter { looksLikeAccelerationFile($0) }
                if traces.count == 1 { partner = traces[0] }
            }
            if let partner {
                used.insert(partner)
                out.append(TraceInput(path: track, kind: .gpxJoined(gpx: track, acceleration: partner)))
            } else {
                out.append(.file(track))
            }
        }
        out += others.filter { !used.contains($0) }.map(TraceInput.file)
        return out.sorted { $0.path < $1.path }
    }

    static func isGPX(_ path: String) -> Bool {
        let lower = path.lowercased()
        return lower.hasSuffix(".gpx") || lower.hasSuffix(".gpx.gz")
    }

    static func isCSV(_ path: String) -> Bool {
        let lower = path.lowercased()
        return lower.hasSuffix(".csv") || lower.hasSuffix(".csv.gz") || lower.hasSuffix(".txt")
    }

    /// True when the file's header is a trace with acceleration (any recognised format).
    static func looksLikeAccelerationFile(_ path: String) -> Bool {
        let head = ByteSource.head(of: path)
        let recognition = head.withUnsafeBytes { TraceRecognizer.recognize(name: path, head: $0) }
        switch recognition {
        case .canonicalCSV:
            let names = Set(headerNames(head).map { $0.lowercased() })
            return names.isSuperset(of: ["ax", "ay", "az"])
        case .delimited(_, let layout): return layout.columns[.ax] != nil
        case .ndjson, .gpx, .unknown: return false
        }
    }

    /// The first bytes of a file, decompressed when it is gzip.
    public static func head(of path: String) -> [UInt8] { ByteSource.head(of: path) }

    /// True for what macOS Finder adds to zips and folders (`__MACOSX/`, `._name` resource
    /// forks, `.DS_Store`) and other hidden files: never part of a recording.
    static func isJunk(_ name: String) -> Bool {
        name.split(separator: "/").contains { $0.hasPrefix(".") || $0 == "__MACOSX" }
    }

    /// "dir/" when every name is inside that one folder, else "".
    static func commonFolder(_ names: [String]) -> String {
        let files = names.filter { !$0.hasSuffix("/") }
        guard let first = files.first, let slash = first.firstIndex(of: "/") else { return "" }
        let prefix = String(first[...slash])
        return files.allSatisfy { $0.hasPrefix(prefix) } ? prefix : ""
    }

    /// The names in a header line (first line of `head`).
    static func headerNames(_ head: [UInt8]) -> [String] {
        head.withUnsafeBytes { TraceRecognizer.headerNames($0) }
    }
}
