import BumpCore

/// Where the files of a multi-file recording are: a folder or a zip archive.
public enum RecordingContainer: Sendable {
    case folder(String)
    case zip(ZipArchive)

    /// The folder or zip file.
    public var path: String {
        switch self {
        case .folder(let path): path
        case .zip(let archive): archive.path
        }
    }

    /// Files of the recording by path relative to it ("/"-separated): the top level and
    /// `meta/`. A zip whose entries all sit in one folder is read as that folder.
    public func files() throws -> [String] {
        switch self {
        case .folder(let root):
            let all = try FileSystem.files(under: root).map { String($0.dropFirst(root.count).drop { $0 == "/" }) }
            return all.filter { !$0.contains("/") || $0.hasPrefix("meta/") }
        case .zip(let archive):
            let names = archive.entries.map(\.name)
            let prefix = Self.commonFolder(names)
            return names.map { String($0.dropFirst(prefix.count)) }.filter { !$0.contains("/") || $0.hasPrefix("meta/") }
        }
    }

    /// A stream of one file's bytes (gzip-compressed files in folders are decompressed).
    func open(_ file: String) throws -> ByteSource {
        switch self {
        case .folder(let root): return try ByteSource(path: root + "/" + file)
        case .zip(let archive): return try archive.source(for: zipEntry(archive, file))
        }
    }

    /// The first bytes of one file.
    func head(_ file: String) -> [UInt8] {
        switch self {
        case .folder(let root): return ByteSource.head(of: root + "/" + file)
        case .zip(let archive): return (try? zipEntry(archive, file)).map { archive.head(of: $0) } ?? []
        }
    }

    /// The whole of a small file.
    func contents(_ file: String) throws -> [UInt8] {
        switch self {
        case .folder(let root): return try FileSystem.readAll(root + "/" + file)
        case .zip(let archive): return try archive.contents(of: zipEntry(archive, file))
        }
    }

    /// How a file is named in messages: `folder/file` or `archive.zip:file`.
    func displayName(_ file: String) -> String {
        switch self {
        case .folder(let root): return root.hasSuffix("/") ? root + file : root + "/" + file
        case .zip(let archive): return archive.path + ":" + file
        }
    }

    private func zipEntry(_ archive: ZipArchive, _ file: String) throws -> ZipArchive.Entry {
        let prefix = Self.commonFolder(archive.entries.map(\.name))
        guard let entry = archive.entry(prefix + file) else { throw FileError(path: archive.path, message: "no entry '\(file)'") }
        return entry
    }

    /// "dir/" when every name is inside that one folder, else "".
    static func commonFolder(_ names: [String]) -> String {
        let files = names.filter { !$0.hasSuffix("/") }
        guard let first = files.first, let slash = first.firstIndex(of: "/") else { return "" }
        let prefix = String(first[...slash])
        return files.allSatisfy { $0.hasPrefix(prefix) } ? prefix : ""
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
    /// skipped when they are not traces, e.g. truth.csv) as opposed to named ones.
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
                out += try inputs(inFolder: path, top: true)
            } else if path.lowercased().hasSuffix(".zip") {
                flushNamed()
                out.append((try zipInput(path), false))
            } else {
                named.append(path)
            }
        }
        flushNamed()
        return out
    }

    /// The recording a folder is, if it is one export (Sensor Logger or phyphox).
    public static func recording(in container: RecordingContainer) throws -> TraceInput.Kind? {
        for file in try container.files() where isCSV(file) && !file.hasPrefix("meta/") {
            let names = headerNames(container.head(file))
            if SensorLoggerFormat.isSensorLoggerHeader(names) {
                switch SensorLoggerFormat.File(fileName: file) {
                case .totalAcceleration?, .accelerometer?: return .sensorLogger(container)
                default: break
                }
            }
            if let (kind, _) = PhyphoxFormat.recognize(header: names), kind == .acceleration { return .phyphox(container) }
        }
        return nil
    }

    private static func zipInput(_ path: String) throws -> TraceInput {
        let container = RecordingContainer.zip(try ZipArchive(path: path))
        guard let kind = try recording(in: container) else {
            let files = try container.files().prefix(12).joined(separator: ", ")
            throw FileError(path: path, message: "not a Sensor Logger or phyphox export: no acceleration file with their header among \(files)")
        }
        return TraceInput(path: path, kind: kind)
    }

    private static func inputs(inFolder folder: String, top: Bool) throws -> [(input: TraceInput, fromFolder: Bool)] {
        let container = RecordingContainer.folder(folder)
        if let kind = try recording(in: container) { return [(TraceInput(path: folder, kind: kind), !top)] }
        var out: [(input: TraceInput, fromFolder: Bool)] = []
        var files: [String] = []
        for name in try FileSystem.entries(of: folder) {
            let full = folder.hasSuffix("/") ? folder + name : folder + "/" + name
            if FileSystem.isDirectory(full) {
                out += try inputs(inFolder: full, top: false)
            } else if name.lowercased().hasSuffix(".zip") {
                // A zip that is not an export is reported, not silently skipped: it was meant to be read.
                do {
                    out.append((try zipInput(full), true))
                } catch let error as FileError {
                    out.append((TraceInput(path: full, kind: .unreadable(error.message)), true))
                }
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

    /// The names in a header line (first line of `head`).
    static func headerNames(_ head: [UInt8]) -> [String] {
        head.withUnsafeBytes { TraceRecognizer.headerNames($0) }
    }
}
