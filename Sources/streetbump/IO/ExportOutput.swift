import ArgumentParser
import BumpIngest

/// Where an export goes: a file (with a line on stderr saying what went there) or stdout.
enum ExportOutput {
    /// What `--format` of an export takes.
    enum Format: String, ExpressibleByArgument { case geojson, csv }

    static func write(_ text: String, to out: String?, what: String) throws {
        if let out {
            try FileSystem.writeText(text, to: out)
            var err = ByteWriter.standardError()
            try err.write("\(what) -> \(out)\n")
            try err.flush()
        } else {
            var w = ByteWriter.standardOutput()
            try w.write(text)
            try w.flush()
        }
    }
}
