import BumpCore
import BumpIngest

/// libFuzzer entry: the input is an upload body, split in two chunks where its first byte
/// says (so framing across chunks is fuzzed too). Errors are fine; crashes, hangs and leaks are not.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzUpload(_ data: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: data, count: count)
    let split = count > 0 ? Int(bytes[0]) % (count + 1) : 0
    var limits = UploadLimits()
    limits.maxDecompressedBytes = 1 << 22
    let upload = TraceUpload(name: "fuzz", format: nil, gzip: nil, limits: limits, detector: DetectorConfig())
    do {
        try upload.consume(UnsafeRawBufferPointer(rebasing: bytes[..<split]))
        try upload.consume(UnsafeRawBufferPointer(rebasing: bytes[split...]))
        _ = try upload.finish()
    } catch {}
    return 0
}
