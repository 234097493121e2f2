/// What a client posts to `POST /requests` (the spec's form fields, api_key aside).
public struct NewRequest: Sendable, Equatable {
    public var serviceCode: String
    public var lat: Double?
    public var long: Double?
    public var addressString: String?
    public var addressID: String?
    public var description: String?
    public var attributes: [String: String]
    /// Answers to `multivaluelist` attributes, several values each: posted as
    /// `attribute[code][]` once per value, as the spec says.
    public var listAttributes: [String: [String]] = [:]
    public var email: String?
    public var deviceID: String?
    public var accountID: String?
    public var firstName: String?
    public var lastName: String?
    public var phone: String?
    public var mediaURL: String?

    public init(serviceCode: String, lat: Double? = nil, long: Double? = nil, addressString: String? = nil,
                addressID: String? = nil, description: String? = nil, attributes: [String: String] = [:],
                email: String? = nil, deviceID: String? = nil, accountID: String? = nil, firstName: String? = nil,
                lastName: String? = nil, phone: String? = nil, mediaURL: String? = nil) {
        self.serviceCode = serviceCode
        self.lat = lat
        self.long = long
        self.addressString = addressString
        self.addressID = addressID
        self.description = description
        self.attributes = attributes
        self.email = email
        self.deviceID = deviceID
        self.accountID = accountID
        self.firstName = firstName
        self.lastName = lastName
        self.phone = phone
        self.mediaURL = mediaURL
    }

    /// The form fields, in a stable order (attributes as `attribute[code]`).
    public func formFields(apiKey: String?, jurisdictionID: String?) -> [(String, String)] {
        var f: [(String, String)] = []
        if let apiKey { f.append(("api_key", apiKey)) }
        if let jurisdictionID { f.append(("jurisdiction_id", jurisdictionID)) }
        f.append(("service_code", serviceCode))
        if let lat, let long {
            f.append(("lat", String(lat)))
            f.append(("long", String(long)))
        }
        let optional: [(String, String?)] = [
            ("address_string", addressString), ("address_id", addressID), ("email", email), ("device_id", deviceID),
            ("account_id", accountID), ("first_name", firstName), ("last_name", lastName), ("phone", phone),
            ("description", description), ("media_url", mediaURL),
        ]
        for (k, v) in optional { if let v { f.append((k, v)) } }
        for (code, value) in attributes.sorted(by: { $0.key < $1.key }) { f.append(("attribute[\(code)]", value)) }
        for (code, values) in listAttributes.sorted(by: { $0.key < $1.key }) {
            for value in values { f.append(("attribute[\(code)][]", value)) }
        }
        return f
    }
}

/// `application/x-www-form-urlencoded`, as GeoReport v2 posts.
public enum FormEncoding {
    public static func encode(_ fields: [(String, String)]) -> String {
        fields.map { escape($0.0) + "=" + escape($0.1) }.joined(separator: "&")
    }

    /// Decodes a form body or query string; later duplicates win. Returns nil for bad percent-escapes.
    public static func decode(_ text: String) -> [String: String]? {
        guard let pairs = decodePairs(text) else { return nil }
        var out: [String: String] = [:]
        for (k, v) in pairs { out[k] = v }
        return out
    }

    /// Every field in order, repeated names included (`attribute[code][]` once per value).
    public static func decodePairs(_ text: String) -> [(String, String)]? {
        var out: [(String, String)] = []
        for pair in text.split(separator: "&", omittingEmptySubsequences: true) {
            let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let k = unescape(kv[0]), let v = unescape(kv.count > 1 ? kv[1] : "") else { return nil }
            out.append((k, v))
        }
        return out
    }

    static func escape(_ s: String) -> String {
        var r = ""
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"):
                r.unicodeScalars.append(Unicode.Scalar(b))
            default:
                let hex = Array("0123456789ABCDEF".utf8)
                r.unicodeScalars.append("%")
                r.unicodeScalars.append(Unicode.Scalar(hex[Int(b >> 4)]))
                r.unicodeScalars.append(Unicode.Scalar(hex[Int(b & 15)]))
            }
        }
        return r
    }

    static func unescape(_ s: Substring) -> String? {
        var bytes: [UInt8] = []
        var it = s.utf8.makeIterator()
        while let b = it.next() {
            switch b {
            case UInt8(ascii: "+"): bytes.append(UInt8(ascii: " "))
            case UInt8(ascii: "%"):
                guard let h = it.next().flatMap(hexValue), let l = it.next().flatMap(hexValue) else { return nil }
                bytes.append(h << 4 | l)
            default: bytes.append(b)
            }
        }
        return String(validating: bytes, as: UTF8.self)
    }

    private static func hexValue(_ b: UInt8) -> UInt8? {
        switch b {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): b - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): b - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): b - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
