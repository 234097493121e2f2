import Open311

/// How each attribute of the service definition gets its answer: fixed from the configuration,
/// or derived from the pothole (a severity-like list is answered from the cluster's severity).
struct AttributeAnswers: Sendable {
    enum Answer: Sendable, Equatable {
        case fixed(String)
        /// Choices ordered from least to most severe.
        case severity([String])
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
                if isList, !a.values.contains(where: { $0.key == v }) {
                    throw FilingError("open311_attributes: '\(a.code)' must be one of \(a.values.map(\.key).joined(separator: ", ")), got '\(v)'")
                }
                answers[a.code] = .fixed(v)
            } else if isList, !a.values.isEmpty, Self.asksForSeverity(a) {
                answers[a.code] = .severity(a.values.map(\.key))
            } else if a.required {
                throw FilingError("service '\(definition.serviceCode)' requires attribute '\(a.code)' (\(a.description)); answer it in open311_attributes, e.g. \(a.code)=\(a.values.first?.key ?? "VALUE")")
            }
        }
    }

    /// Attribute values for a pothole of this severity (1-5).
    func values(severity: Int) -> [String: String] {
        answers.mapValues { answer in
            switch answer {
            case .fixed(let v): return v
            case .severity(let keys):
                let share = Double(min(max(severity, 1), 5) - 1) / 4
                return keys[Int((share * Double(keys.count - 1)).rounded())]
            }
        }
    }

    static func asksForSeverity(_ a: ServiceAttribute) -> Bool {
        let words = (a.code + " " + a.description).lowercased()
        return ["severity", "size", "depth", "priority"].contains { words.contains($0) }
    }
}
