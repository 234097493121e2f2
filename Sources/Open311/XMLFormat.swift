import Foundation

/// GeoReport v2's XML rendering of the wire model. The spec's XML is a plain tree of elements
/// named like the JSON keys, lists wrapped in a plural element.
public enum GeoReportXML {
    public static func services(_ services: [Service]) -> String {
        document("services") { w in
            for s in services {
                w.element("service") { w in
                    w.leaf("service_code", s.serviceCode)
                    w.leaf("service_name", s.serviceName)
                    w.leaf("description", s.description)
                    w.leaf("metadata", String(s.metadata))
                    w.leaf("type", s.type)
                    w.leaf("keywords", s.keywords)
                    w.leaf("group", s.group)
                }
            }
        }
    }

    public static func definition(_ d: ServiceDefinition) -> String {
        document("service_definition") { w in
            w.leaf("service_code", d.serviceCode)
            w.element("attributes") { w in
                for a in d.attributes {
                    w.element("attribute") { w in
                        w.leaf("variable", String(a.variable))
                        w.leaf("code", a.code)
                        w.leaf("datatype", a.datatype)
                        w.leaf("required", String(a.required))
                        w.leaf("datatype_description", a.datatypeDescription)
                        w.leaf("order", String(a.order))
                        w.leaf("description", a.description)
                        w.element("values") { w in
                            for v in a.values {
                                w.element("value") { w in
                                    w.leaf("key", v.key)
                                    w.leaf("name", v.name)
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    public static func requests(_ requests: [ServiceRequest]) -> String {
        document("service_requests") { w in
            for r in requests {
                w.element("request") { w in
                    w.leaf("service_request_id", r.serviceRequestID)
                    w.leaf("status", r.status)
                    w.leaf("status_notes", r.statusNotes)
                    w.leaf("service_name", r.serviceName)
                    w.leaf("service_code", r.serviceCode)
                    w.leaf("description", r.description)
                    w.leaf("agency_responsible", r.agencyResponsible)
                    w.leaf("service_notice", r.serviceNotice)
                    w.leaf("requested_datetime", r.requestedDatetime.map(GeoReportTime.format))
                    w.leaf("updated_datetime", r.updatedDatetime.map(GeoReportTime.format))
                    w.leaf("expected_datetime", r.expectedDatetime.map(GeoReportTime.format))
                    w.leaf("address", r.address)
                    w.leaf("address_id", r.addressID)
                    w.leaf("zipcode", r.zipcode)
                    w.leaf("lat", r.lat.map { String($0) })
                    w.leaf("long", r.long.map { String($0) })
                    w.leaf("media_url", r.mediaURL)
                }
            }
        }
    }

    public static func receipts(_ receipts: [RequestReceipt]) -> String {
        document("service_requests") { w in
            for r in receipts {
                w.element("request") { w in
                    if let id = r.serviceRequestID { w.leaf("service_request_id", id) }
                    if let token = r.token { w.leaf("token", token) }
                    w.leaf("service_notice", r.serviceNotice)
                    w.leaf("account_id", r.accountID)
                }
            }
        }
    }

    public static func tokens(_ answers: [TokenAnswer]) -> String {
        document("service_requests") { w in
            for a in answers {
                w.element("request") { w in
                    w.leaf("service_request_id", a.serviceRequestID)
                    w.leaf("token", a.token)
                }
            }
        }
    }

    public static func errors(_ items: [ErrorItem]) -> String {
        document("errors") { w in
            for e in items {
                w.element("error") { w in
                    w.leaf("code", String(e.code))
                    w.leaf("description", e.description)
                }
            }
        }
    }

    public static func discovery(_ d: Discovery) -> String {
        document("discovery") { w in
            w.leaf("changeset", GeoReportTime.format(d.changeset))
            w.leaf("contact", d.contact)
            w.leaf("key_service", d.keyService)
            w.element("endpoints") { w in
                for e in d.endpoints {
                    w.element("endpoint") { w in
                        w.leaf("specification", e.specification)
                        w.leaf("url", e.url)
                        w.leaf("changeset", GeoReportTime.format(e.changeset))
                        w.leaf("type", e.type)
                        w.element("formats") { w in
                            for f in e.formats { w.leaf("format", f) }
                        }
                    }
                }
            }
        }
    }

    private static func document(_ root: String, _ body: (inout XMLWriter) -> Void) -> String {
        var w = XMLWriter()
        w.out = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
        w.element(root, body)
        return w.out
    }
}

/// A minimal XML writer: elements and escaped text, nothing else.
struct XMLWriter {
    var out = ""

    mutating func element(_ name: String, _ body: (inout XMLWriter) -> Void) {
        out += "<\(name)>"
        body(&self)
        out += "</\(name)>"
    }

    /// An element with text; an absent value is written empty, as the spec's examples do.
    mutating func leaf(_ name: String, _ value: String?) {
        guard let value, !value.isEmpty else {
            out += "<\(name)/>"
            return
        }
        out += "<\(name)>\(Self.escape(value))</\(name)>"
    }

    static func escape(_ s: String) -> String {
        var r = ""
        r.reserveCapacity(s.utf8.count)
        for ch in s.unicodeScalars {
            switch ch {
            case "&": r += "&amp;"
            case "<": r += "&lt;"
            case ">": r += "&gt;"
            case "\"": r += "&quot;"
            case "'": r += "&apos;"
            // Characters XML 1.0 cannot carry at all are dropped rather than producing a broken document.
            case "\u{9}", "\u{A}", "\u{D}": r.unicodeScalars.append(ch)
            default: if ch.value >= 0x20 && !(0xFFFE...0xFFFF).contains(ch.value) { r.unicodeScalars.append(ch) }
            }
        }
        return r
    }
}
