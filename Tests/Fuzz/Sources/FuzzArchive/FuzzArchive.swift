import BumpCore
import BumpIngest
#if canImport(Glibc)
import Glibc
#endif

/// Counts rows; the fuzzer only cares that reading ends without a crash.
struct RowCount: TraceRowSink {
    var rows = 0
    mutating func accept(_ row: TraceRow, trip: Int) { rows += 1 }
}

/// libFuzzer entry: the input is written to a file named as its first bytes suggest (a zip
/// export, gzip, GPX; else CSV, NDJSON or a sensor file by its length) and read as `ingest`
/// reads files.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzArchive(_ data: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let name: String
    if count >= 2 && data[0] == 0x50 && data[1] == 0x4B {
        name = "export.zip"
    } else if count >= 2 && data[0] == 0x1F && data[1] == 0x8B {
        name = "trace.csv.gz"
    } else if count >= 1 && data[0] == UInt8(ascii: "<") {
        name = "track.gpx"
    } else {
        name = ["trace.csv", "trace.ndjson", "Accelerometer.csv"][count % 3]
    }
    let dir = "/tmp/streetbump-fuzz-\(getpid())"
    mkdir(dir, 0o700)
    let path = dir + "/" + name
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    guard fd >= 0 else { return 0 }
    _ = write(fd, data, count)
    close(fd)
    defer { unlink(path) }
    do {
        for found in try TraceInputs.find([path]) {
            var sink = RowCount()
            _ = try TraceFileReader.read(found.input, options: ReadOptions(), into: &sink)
        }
    } catch {}
    return 0
}
