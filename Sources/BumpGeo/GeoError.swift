/// A coordinate-system problem, worded for the person at the terminal.
///
/// `description` is the whole message, e.g.
/// `unknown CRS 'EPSG:999999': PROJ says: crs not found; use an EPSG code like EPSG:2249 or a PROJ string`.
public struct GeoError: Error, Sendable, CustomStringConvertible {
    /// What went wrong, for callers that react differently (e.g. skip a point but abort on a bad CRS).
    public enum Kind: Sendable, Equatable {
        /// PROJ does not know the CRS text, or it names something that is not a CRS.
        case unknownCRS
        /// The CRS exists but cannot be used here (e.g. a geographic CRS given as the projected target).
        case unsupportedCRS
        /// Both CRSes are valid but PROJ found no way to transform between them.
        case noTransformation
        /// One point could not be transformed (outside the projection's domain, NaN, ...).
        case pointFailed
    }

    /// What went wrong.
    public let kind: Kind
    /// The full human-readable message.
    public let description: String

    init(_ kind: Kind, _ description: String) {
        self.kind = kind
        self.description = description
    }
}
