import BumpStore
import Foundation
import Open311

/// What the embedded GeoReport v2 endpoint offers and whom it accepts requests from.
public struct Open311ServerSettings: Sendable {
    public var services: [Service]
    public var definitions: [String: ServiceDefinition]
    /// Keys allowed to post requests (compared in constant time; never logged).
    public var apiKeys: [String]
    public var jurisdictionID: String?
    public var contact: String
    /// 0: `POST /requests` answers with the new id. Above 0: it answers with a token only, and
    /// the id becomes visible through `/tokens` after this many seconds, as deferred servers do.
    public var idDelay: Double = 0
    /// At most this many requests per `GET /requests` answer.
    public var pageLimit = 1_000

    public init(services: [Service], definitions: [String: ServiceDefinition], apiKeys: [String],
                jurisdictionID: String? = nil, contact: String = "Public Works, via streetbump") {
        self.services = services
        self.definitions = definitions
        self.apiKeys = apiKeys
        self.jurisdictionID = jurisdictionID
        self.contact = contact
    }

    /// The service streetbump files to, with the attribute a dispatcher sorts by.
    public static let potholeService = Service(
        serviceCode: "pothole", serviceName: "Pothole",
        description: "A pothole in the roadway, detected by phones in passing vehicles or reported by a resident.",
        metadata: true, type: "realtime", keywords: "pothole,road,street,pavement", group: "Streets")

    public static let potholeDefinition = ServiceDefinition(serviceCode: "pothole", attributes: [
        ServiceAttribute(code: "severity", datatype: "singlevaluelist", required: true,
                         datatypeDescription: "How bad the pothole is.", order: 1,
                         description: "Severity of the pothole",
                         values: [AttributeValue(key: "low", name: "Low"), AttributeValue(key: "medium", name: "Medium"),
                                  AttributeValue(key: "high", name: "High")]),
        ServiceAttribute(code: "lane", datatype: "string", required: false,
                         datatypeDescription: "Free text, e.g. right lane, northbound.", order: 2,
                         description: "Which lane"),
        ServiceAttribute(code: "hazards", datatype: "multivaluelist", required: false,
                         datatypeDescription: "Any that apply.", order: 3,
                         description: "What else is there",
                         values: [AttributeValue(key: "debris", name: "Loose debris"), AttributeValue(key: "water", name: "Standing water"),
                                  AttributeValue(key: "rebar", name: "Exposed rebar")]),
    ])

    /// The default embedded service list: potholes.
    public static func standard(apiKeys: [String]) -> Open311ServerSettings {
        Open311ServerSettings(services: [potholeService], definitions: ["pothole": potholeDefinition], apiKeys: apiKeys)
    }
}

extension Open311ServerSettings {
    /// The api_key streetbump itself uses on the embedded endpoint: made once per store, kept
    /// in the store (never printed), so `file` and `serve` agree without configuration.
    public static func ownKey(in store: TraceStore) throws -> String {
        if let key = try store.setting("open311_server_key") { return key }
        var rng = SystemRandomNumberGenerator()
        let key = (0..<4).map { _ in String(rng.next() as UInt64, radix: 16) }.joined()
        try store.setSetting("open311_server_key", key)
        return try store.setting("open311_server_key") ?? key
    }
}
