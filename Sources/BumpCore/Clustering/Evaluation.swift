/// Precision, recall and location error of predicted spots against surveyed ones, so a city
/// can calibrate on its own potholes.
public struct EvaluationResult: Sendable, Equatable {
    public var predicted = 0
    public var truth = 0
    public var matched = 0
    /// Metres between each matched prediction and its truth.
    public var errors: [Double] = []

    public var precision: Double { predicted == 0 ? 0 : Double(matched) / Double(predicted) }
    public var recall: Double { truth == 0 ? 0 : Double(matched) / Double(truth) }
    public var f1: Double { precision + recall == 0 ? 0 : 2 * precision * recall / (precision + recall) }
    public var meanError: Double { errors.isEmpty ? .nan : errors.reduce(0, +) / Double(errors.count) }
    public var maxError: Double { errors.max() ?? .nan }
}

public enum Evaluation {
    /// One-to-one matching, closest pairs first, of predictions to truth within `radius` metres.
    /// Returns the result and, per prediction, the index of its truth (or nil).
    public static func match(
        predicted: [(lat: Double, lon: Double)], truth: [(lat: Double, lon: Double)], radius: Double
    ) -> (result: EvaluationResult, pairs: [Int?]) {
        var candidates: [(d: Double, p: Int, t: Int)] = []
        for (i, p) in predicted.enumerated() {
            for (j, t) in truth.enumerated() {
                let d = LocalGeodesy.distance(p, t)
                if d <= radius { candidates.append((d, i, j)) }
            }
        }
        candidates.sort { $0.d != $1.d ? $0.d < $1.d : ($0.p, $0.t) < ($1.p, $1.t) }
        var pairs = [Int?](repeating: nil, count: predicted.count)
        var usedTruth = Set<Int>()
        var result = EvaluationResult(predicted: predicted.count, truth: truth.count)
        for c in candidates where pairs[c.p] == nil && !usedTruth.contains(c.t) {
            pairs[c.p] = c.t
            usedTruth.insert(c.t)
            result.matched += 1
            result.errors.append(c.d)
        }
        return (result, pairs)
    }
}
