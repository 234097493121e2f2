import ArgumentParser
import BumpCore
import BumpIngest

/// How `detect` and `ingest` read their inputs: a forced format, or a column map with units
/// (given on the command line or saved as a named profile in the config file).
struct InputOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "Read every input as this format instead of recognising it: \(TraceFormat.allCases.map(\.rawValue).joined(separator: ", ")).",
        valueName: "format"))
    var input: TraceFormat?

    @Option(help: ArgumentHelp(
        "Read delimited files through this column map, e.g. t=timestamp,ax=accX,ay=accY,az=accZ,lat=latitude,lon=longitude,speed=speed,accuracy=hacc.",
        valueName: "map"))
    var columns: String?

    @Option(help: ArgumentHelp("Acceleration unit of the mapped columns: m/s2 (default) or g.", valueName: "unit"))
    var accelUnit: String?

    @Option(help: ArgumentHelp("Time unit of the mapped time column: s, ms, us, ns or clock (HH:MM:SS.fff); default: by magnitude.", valueName: "unit"))
    var timeUnit: String?

    // Unconditional: the values start with a minus sign and would otherwise look like flags.
    @Option(parsing: .unconditional, help: ArgumentHelp("Values meaning 'no value' in mapped position, speed and accuracy columns, e.g. -1,-100.", valueName: "values"))
    var missing: String?

    @Option(help: ArgumentHelp("Use the column map saved as [profile.NAME] in the config file.", valueName: "name"))
    var profile: String?

    @Option(help: ArgumentHelp("Save --columns and its units as [profile.NAME] in the config file (streetbump.toml or STREETBUMP_CONFIG).", valueName: "name"))
    var saveProfile: String?

    /// The options in effect; saves the profile first when asked to.
    func readOptions() throws -> ReadOptions {
        var columns = columns, accelUnit = accelUnit, timeUnit = timeUnit, missing = missing
        if let name = profile {
            guard let saved = Configuration.current.profile(name) else {
                let known = Configuration.current.profileNames
                throw ValidationError("no profile '\(name)' in \(Configuration.path)" + (known.isEmpty ? "" : "; profiles: \(known.joined(separator: ", "))"))
            }
            // Flags given next to --profile override the saved values.
            columns = columns ?? saved["columns"]
            accelUnit = accelUnit ?? saved["accel_unit"]
            timeUnit = timeUnit ?? saved["time_unit"]
            missing = missing ?? saved["missing"]
        }
        guard let map = columns else {
            if accelUnit != nil || timeUnit != nil || missing != nil || saveProfile != nil {
                throw ValidationError("--accel-unit, --time-unit, --missing and --save-profile go with --columns (or --profile)")
            }
            if input == .columns { throw ValidationError("--input columns needs --columns or --profile") }
            return ReadOptions(format: input)
        }
        if let input, input != .columns {
            throw ValidationError("--columns reads files as a column map; it cannot be combined with --input \(input.rawValue)")
        }
        let layout: DelimitedLayout
        do {
            layout = try DelimitedLayout(columnMap: map, accelerationUnit: accelUnit, timeUnit: timeUnit, missing: missing)
        } catch {
            throw ValidationError(error.description)
        }
        if let name = saveProfile {
            var settings: [(key: String, value: String)] = [("columns", map)]
            if let accelUnit { settings.append(("accel_unit", accelUnit)) }
            if let timeUnit { settings.append(("time_unit", timeUnit)) }
            if let missing { settings.append(("missing", missing)) }
            try Configuration.saveProfile(name, settings, path: Configuration.path)
            var err = ByteWriter.standardError()
            try err.write("saved profile '\(name)' in \(Configuration.path); use it with --profile \(name)\n")
            try err.flush()
        }
        return ReadOptions(format: .columns, layout: layout)
    }
}

extension TraceFormat: ExpressibleByArgument {}
