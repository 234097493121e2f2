import Foundation

// The GeoReport v2 wire model (http://wiki.open311.org/GeoReport_v2), field names as the spec
// spells them. Decoding is lenient where real servers differ (numbers sent as strings, ids
// sent as numbers); encoding is strict.

/// One service a jurisdiction takes requests for (`GET /services`).
public struct Service: Codable, Sendable, Equatable {
    public var serviceCode: String
    public var serviceName: String
    public var description: String
    /// Whether the service has a definition with attributes (`GET /services/{code}`).
    public var metadata: Bool
    /// realtime, batch or blackbox.
    public var type: String
    public var keywords: String
    public var group: String

    public init(serviceCode: String, serviceName: String, description: String, metadata: Bool,
                type: String = "realtime", keywords: String = "", group: String = "") {
        self.serviceCode = serviceCode
        self.serviceName = serviceName
        self.description = description
        self.metadata = metadata
        self.type = type
        self.keywords = keywords
        self.group = group
    }

    enum CodingKeys: String, CodingKey {
        case serviceCode = "service_code", serviceName = "service_name", description, metadata, type, keywords, group
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        serviceCode = try c.lenientString(.serviceCode) ?? ""
        serviceName = try c.lenientString(.serviceName) ?? ""
        description = try c.lenientString(.description) ?? ""
        metadata = try c.lenientBool(.metadata) ?? false
        type = try c.lenientString(.type) ?? "realtime"
        keywords = try c.lenientString(.keywords) ?? ""
        group = try c.lenientString(.group) ?? ""
    }
}

/// The extra fields a service asks for (`GET /services/{code}`).
public struct ServiceDefinition: Codable, Sendable, Equatable {
    public var serviceCode: String
    public var attributes: [ServiceAttribute]

    public init(serviceCode: String, attributes: [ServiceAttribute]) {
        self.serviceCode = serviceCode
        self.attributes = attributes
    }

    enum CodingKeys: String, CodingKey { case serviceCode = "service_code", attributes }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        serviceCode = try c.lenientString(.serviceCode) ?? ""
        attributes = try c.decodeIfPresent([ServiceAttribute].self, forKey: .attributes) ?? []
    }
}

public struct ServiceAttribute: Codable, Sendable, Equatable {
    /// false for informational attributes that take no answer.
    public var variable: Bool
    public var code: String
    /// string, number, datetime, text, singlevaluelist or multivaluelist.
    public var datatype: String
    public var required: Bool
    public var datatypeDescription: String
    public var order: Int
    public var description: String
    public var values: [AttributeValue]

    public init(variable: Bool = true, code: String, datatype: String, required: Bool, datatypeDescription: String = "",
                order: Int, description: String, values: [AttributeValue] = []) {
        self.variable = variable
        self.code = code
        self.datatype = datatype
        self.required = required
        self.datatypeDescription = datatypeDescription
        self.order = order
        self.description = description
        self.values = values
    }

    enum CodingKeys: String, CodingKey {
        case variable, code, datatype, required, datatypeDescription = "datatype_description", order, description, values
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        variable = try c.lenientBool(.variable) ?? true
        code = try c.lenientString(.code) ?? ""
        datatype = try c.lenientString(.datatype) ?? "string"
        required = try c.lenientBool(.required) ?? false
        datatypeDescription = try c.lenientString(.datatypeDescription) ?? ""
        order = Int(try c.lenientString(.order) ?? "") ?? 0
        description = try c.lenientString(.description) ?? ""
        values = try c.decodeIfPresent([AttributeValue].self, forKey: .values) ?? []
    }
}

public struct AttributeValue: Codable, Sendable, Equatable {
    public var key: String
    public var name: String

    public init(key: String, name: String) {
        self.key = key
        self.name = name
    }

    enum CodingKeys: String, CodingKey { case key, name }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        key = try c.lenientString(.key) ?? ""
        name = try c.lenientString(.name) ?? ""
    }
}

/// A service request as `GET /requests` and `GET /requests/{id}` return it.
public struct ServiceRequest: Codable, Sendable, Equatable {
    public var serviceRequestID: String
    /// open or closed.
    public var status: String
    public var statusNotes: String?
    public var serviceName: String?
    public var serviceCode: String
    public var description: String?
    public var agencyResponsible: String?
    public var serviceNotice: String?
    public var requestedDatetime: Date?
    public var updatedDatetime: Date?
    public var expectedDatetime: Date?
    public var address: String?
    public var addressID: String?
    public var zipcode: String?
    public var lat: Double?
    public var long: Double?
    public var mediaURL: String?

    public init(serviceRequestID: String, status: String, statusNotes: String? = nil, serviceName: String? = nil,
                serviceCode: String, description: String? = nil, agencyResponsible: String? = nil,
                serviceNotice: String? = nil, requestedDatetime: Date? = nil, updatedDatetime: Date? = nil,
                expectedDatetime: Date? = nil, address: String? = nil, addressID: String? = nil, zipcode: String? = nil,
                lat: Double? = nil, long: Double? = nil, mediaURL: String? = nil) {
        self.serviceRequestID = serviceRequestID
        self.status = status
        self.statusNotes = statusNotes
        self.serviceName = serviceName
        self.serviceCode = serviceCode
        self.description = description
        self.agencyResponsible = agencyResponsible
        self.serviceNotice = serviceNotice
        self.requestedDatetime = requestedDatetime
        self.updatedDatetime = updatedDatetime
        self.expectedDatetime = expectedDatetime
        self.address = address
        self.addressID = addressID
        self.zipcode = zipcode
        self.lat = lat
        self.long = long
        self.mediaURL = mediaURL
    }

    /// The spec's field names, in the spec's order.
    public static let fieldNames = CodingKeys.allCases.map(\.rawValue)

    public enum CodingKeys: String, CodingKey, CaseIterable {
        case serviceRequestID = "service_request_id", status, statusNotes = "status_notes", serviceName = "service_name"
        case serviceCode = "service_code", description, agencyResponsible = "agency_responsible"
        case serviceNotice = "service_notice", requestedDatetime = "requested_datetime"
        case updatedDatetime = "updated_datetime", expectedDatetime = "expected_datetime", address
        case addressID = "address_id", zipcode, lat, long, mediaURL = "media_url"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        serviceRequestID = try c.lenientString(.serviceRequestID) ?? ""
        status = try c.lenientString(.status) ?? ""
        statusNotes = try c.lenientString(.statusNotes)
        serviceName = try c.lenientString(.serviceName)
        serviceCode = try c.lenientString(.serviceCode) ?? ""
        description = try c.lenientString(.description)
        agencyResponsible = try c.lenientString(.agencyResponsible)
        serviceNotice = try c.lenientString(.serviceNotice)
        requestedDatetime = try c.lenientString(.requestedDatetime).flatMap(GeoReportTime.parse)
        updatedDatetime = try c.lenientString(.updatedDatetime).flatMap(GeoReportTime.parse)
        expectedDatetime = try c.lenientString(.expectedDatetime).flatMap(GeoReportTime.parse)
        address = try c.lenientString(.address)
        addressID = try c.lenientString(.addressID)
        zipcode = try c.lenientString(.zipcode)
        lat = try c.lenientString(.lat).flatMap(Double.init)
        long = try c.lenientString(.long).flatMap(Double.init)
        mediaURL = try c.lenientString(.mediaURL)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(serviceRequestID, forKey: .serviceRequestID)
        try c.encode(status, forKey: .status)
        try c.encode(statusNotes, forKey: .statusNotes)
        try c.encode(serviceName, forKey: .serviceName)
        try c.encode(serviceCode, forKey: .serviceCode)
        try c.encode(description, forKey: .description)
        try c.encode(agencyResponsible, forKey: .agencyResponsible)
        try c.encode(serviceNotice, forKey: .serviceNotice)
        try c.encode(requestedDatetime.map(GeoReportTime.format), forKey: .requestedDatetime)
        try c.encode(updatedDatetime.map(GeoReportTime.format), forKey: .updatedDatetime)
        try c.encode(expectedDatetime.map(GeoReportTime.format), forKey: .expectedDatetime)
        try c.encode(address, forKey: .address)
        try c.encode(addressID, forKey: .addressID)
        try c.encode(zipcode, forKey: .zipcode)
        try c.encode(lat, forKey: .lat)
        try c.encode(long, forKey: .long)
        try c.encode(mediaURL, forKey: .mediaURL)
    }
}

/// What `POST /requests` answers: the new id, or a token to resolve later through `/tokens`.
public struct RequestReceipt: Codable, Sendable, Equatable {
    public var serviceRequestID: String?
    public var token: String?
    public var serviceNotice: String?
    public var accountID: String?

    public init(serviceRequestID: String? = nil, token: String? = nil, serviceNotice: String? = nil, accountID: String? = nil) {
        self.serviceRequestID = serviceRequestID
        self.token = token
        self.serviceNotice = serviceNotice
        self.accountID = accountID
    }

    enum CodingKeys: String, CodingKey {
        case serviceRequestID = "service_request_id", token, serviceNotice = "service_notice", accountID = "account_id"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        // An empty id or token is no id at all (some servers send "" beside a token).
        serviceRequestID = try c.lenientString(.serviceRequestID).flatMap { $0.isEmpty ? nil : $0 }
        token = try c.lenientString(.token).flatMap { $0.isEmpty ? nil : $0 }
        serviceNotice = try c.lenientString(.serviceNotice)
        accountID = try c.lenientString(.accountID)
    }
}

/// What `GET /tokens/{token}` answers once the request has an id.
public struct TokenAnswer: Codable, Sendable, Equatable {
    public var serviceRequestID: String?
    public var token: String

    public init(serviceRequestID: String?, token: String) {
        self.serviceRequestID = serviceRequestID
        self.token = token
    }

    enum CodingKeys: String, CodingKey { case serviceRequestID = "service_request_id", token }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        serviceRequestID = try c.lenientString(.serviceRequestID)
        token = try c.lenientString(.token) ?? ""
    }
}

/// The spec's error body: a list of `{code, description}`.
public struct ErrorItem: Codable, Sendable, Equatable {
    public var code: Int
    public var description: String

    public init(code: Int, description: String) {
        self.code = code
        self.description = description
    }

    enum CodingKeys: String, CodingKey { case code, description }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        code = Int(try c.lenientString(.code) ?? "") ?? 0
        description = try c.lenientString(.description) ?? ""
    }
}

/// Service discovery: where a jurisdiction's endpoints are and what they speak.
public struct Discovery: Codable, Sendable, Equatable {
    public var changeset: Date
    public var contact: String
    public var keyService: String
    public var endpoints: [Endpoint]

    public struct Endpoint: Codable, Sendable, Equatable {
        public var specification: String
        public var url: String
        public var changeset: Date
        /// production or test.
        public var type: String
        public var formats: [String]

        public init(specification: String, url: String, changeset: Date, type: String, formats: [String]) {
            self.specification = specification
            self.url = url
            self.changeset = changeset
            self.type = type
            self.formats = formats
        }

        enum CodingKeys: String, CodingKey { case specification, url, changeset, type, formats }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(specification, forKey: .specification)
            try c.encode(url, forKey: .url)
            try c.encode(GeoReportTime.format(changeset), forKey: .changeset)
            try c.encode(type, forKey: .type)
            try c.encode(formats, forKey: .formats)
        }
    }

    public init(changeset: Date, contact: String, keyService: String, endpoints: [Endpoint]) {
        self.changeset = changeset
        self.contact = contact
        self.keyService = keyService
        self.endpoints = endpoints
    }

    enum CodingKeys: String, CodingKey { case changeset, contact, keyService = "key_service", endpoints }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(GeoReportTime.format(changeset), forKey: .changeset)
        try c.encode(contact, forKey: .contact)
        try c.encode(keyService, forKey: .keyService)
        try c.encode(endpoints, forKey: .endpoints)
    }
}

/// ISO 8601 times with a zone, as the spec requires (`2010-04-14T06:37:38-08:00`).
public enum GeoReportTime {
    public static func format(_ date: Date) -> String {
        date.formatted(.iso8601)  // UTC, e.g. 2026-11-23T20:13:36Z
    }

    /// Accepts what servers send: with or without fractional seconds, `Z` or an offset.
    public static func parse(_ text: String) -> Date? {
        let t = text.trimmingCharacters(in: .whitespaces)
        if t.isEmpty { return nil }
        if let d = try? Date(t, strategy: .iso8601) { return d }
        if let d = try? Date(t, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true)) { return d }
        return nil
    }
}

extension KeyedDecodingContainer {
    /// A string, a number or a bool, as a string; nil when absent or null.
    func lenientString(_ key: Key) throws -> String? {
        guard contains(key), try !decodeNil(forKey: key) else { return nil }
        if let s = try? decode(String.self, forKey: key) { return s }
        if let i = try? decode(Int64.self, forKey: key) { return String(i) }
        if let d = try? decode(Double.self, forKey: key) { return String(d) }
        if let b = try? decode(Bool.self, forKey: key) { return String(b) }
        throw DecodingError.typeMismatch(String.self, .init(codingPath: codingPath + [key], debugDescription: "expected a string or a number"))
    }

    func lenientBool(_ key: Key) throws -> Bool? {
        guard contains(key), try !decodeNil(forKey: key) else { return nil }
        if let b = try? decode(Bool.self, forKey: key) { return b }
        switch try lenientString(key)?.lowercased() {
        case "true", "1", "yes": return true
        case "false", "0", "no", "": return false
        default: throw DecodingError.typeMismatch(Bool.self, .init(codingPath: codingPath + [key], debugDescription: "expected true or false"))
        }
    }
}
