import Open311

/// How each attribute of the service definition gets its answer: fixed from the configuration,
/// or derived from the pothole (a severity-like list is answered from the cluster's severity).
struct AttributeAnswers: Sendable {
    enum Answer: Sendable, Equatable {
        case fixed(String)
        /// Several values of a multivaluelist (configured as `code=a|b`).
        case fixedList([String])
        /// Choices ordered from least to most severe (`several`: of a multivaluelist, sent as
        /// a list of the one).
        case severity([String], several: Bool)
    }

    var answers: [String: Answer] = [:]

    /// Fails when the service requires an attribute nobody can answer, or a configured answer
    /// is not one of the service's choices.
    init(definition: ServiceDefinition, configured: [String: String]) throws {
        let codes = Set(definition.attributes.map(\.code))
        if let unknown = configured.keys.sorted().first(where: { !codes.contains($0) }) {
            throw FilingError("open311_attributes sets '\(unknown)', which service '\(definition.serviceCode)' does not define (it has: \(codes.sorted().joined(separator: ", ")))")
        }
        for a in definition.attributes where a.variable {
            let isList = a.datatype == "singlevaluelist" || a.datatype == "multivaluelist"
            if let v = configured[a.code] {
                let values = a.datatype == "multivaluelist" ? v.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) } : [v]
                if isList, let bad = values.first(where: { v in !a.values.contains { $0.key == v } }) {
                    throw FilingError("open311_attributes: '\(a.code)' must be \(a.datatype == "multivaluelist" ? "among" : "one of") \(a.values.map(\.key).joined(separator: ", ")), got '\(bad)'")
                }
                answers[a.code] = a.datatype == "multivaluelist" ? .fixedList(values) : .fixed(v)
            } else if isList, !a.values.isEmpty, Self.asksForSeverity(a) {
                answers[a.code] = .severity(a.values.map(\.key), several: a.datatype == "multivaluelist")
            } else if a.required {
                throw FilingError("service '\(definition.serviceCode)' requires attribute '\(a.code)' (\(a.description)); answer it in open311_attributes, e.g. \(a.code)=\(a.values.first?.key ?? "VALUE")")
            }
        }
    }

    /// Attribute values for a pothole of this severity (1-5).
    func values(severity: Int) -> [String: String] {
        answers.compactMapValues { answer in
            switch answer {
            case .fixed(let v): v
            case .severity(let keys, several: false): Self.pick(keys, severity)
            case .fixedList, .severity(_, several: true): nil
            }
        }
    }

    /// Answers to multivaluelist attributes, for a pothole of this severity.
    func lists(severity: Int) -> [String: [String]] {
        answers.compactMapValues { answer in
            switch answer {
            case .fixedList(let values): values
            case .severity(let keys, several: true): [Self.pick(keys, severity)]
            case .fixed, .severity(_, several: false): nil
            }
        }
    }

    /// The choice for a severity of 1-5, the list read as least to most severe.
    static func pick(_ keys: [String], _ severity: Int) -> String {
        let share = Double(min(max(severity, 1), 5) - 1) / 4
        return keys[Int((share * Double(keys.count - 1)).rounded())]
    }

    static func asksForSeverity(_ a: ServiceAttribute) -> Bool {
        let words = (a.code + " " + a.description).lowercased()
        return ["severity", "size", "depth", "priority"].contains { words.contains($0) }
    }
}
