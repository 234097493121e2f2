import BumpStore
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
#if canImport(FoundationXML)
import FoundationXML
#endif
import Logging
import Open311
import StreetBumpServer
import Synchronization
import Testing

/// A clock tests move by hand, so nothing depends on how fast the machine is.
final class TestClock: Sendable {
    private let date = Mutex(Date())
    var now: Date { date.withLock { $0 } }
    func advance(_ seconds: Double) { date.withLock { $0 = $0.addingTimeInterval(seconds) } }
}

/// A store and the embedded endpoint serving it on a loopback port.
final class EndpointFixture: Sendable {
    let dir: URL
    let store: TraceStore
    let server: BackgroundServer
    let base: String
    let clock = TestClock()
    static let key = "test-key-0123"

    init(idDelay: Double = 0) async throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("streetbump-o311-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        store = try TraceStore(path: dir.appendingPathComponent("city.sqlite").path)
        var open311 = Open311ServerSettings.standard(apiKeys: [Self.key])
        open311.idDelay = idDelay
        let settings = ServerSettings(host: "127.0.0.1", port: 0, open311: open311)
        let store = self.store, clock = self.clock
        server = try await BackgroundServer.start(logger: Logger(label: "test")) { onRunning in
            try buildApplication(store: store, settings: settings, logger: Logger(label: "test"), now: { clock.now }, onServerRunning: onRunning)
        }
        base = "http://127.0.0.1:\(server.port)/open311/v2"
    }

    /// Runs `body` against a fresh endpoint and always shuts it down.
    static func with(idDelay: Double = 0, _ body: (EndpointFixture) async throws -> Void) async throws {
        let f = try await EndpointFixture(idDelay: idDelay)
        do {
            try await body(f)
        } catch {
            await f.close()
            throw error
        }
        await f.close()
    }

    func close() async {
        await server.stop()
        try? FileManager.default.removeItem(at: dir)
    }

    /// A raw HTTP call: status, content type and body.
    func call(_ method: String, _ path: String, form: [(String, String)]? = nil) async throws -> (status: Int, type: String, body: Data) {
        var r = URLRequest(url: URL(string: base + path)!)
        r.httpMethod = method
        if let form {
            r.httpBody = Data(FormEncoding.encode(form).utf8)
            r.setValue("application/x-www-form-urlencoded", forHTTPHeaderField: "Content-Type")
        }
        let (data, response) = try await URLSession.shared.data(for: r)
        let http = response as! HTTPURLResponse
        return (http.statusCode, http.value(forHTTPHeaderField: "Content-Type") ?? "", data)
    }

    func post(_ extra: [(String, String)] = [], key: String? = EndpointFixture.key, format: String = "json") async throws -> (status: Int, type: String, body: Data) {
        var form: [(String, String)] = []
        if let key { form.append(("api_key", key)) }
        form += [("service_code", "pothole"), ("lat", "42.36025"), ("long", "-71.05777"), ("attribute[severity]", "high"),
                 ("description", "Deep hole <b>near</b> the curb & drain")]
        form += extra
        return try await call("POST", "/requests.\(format)", form: form)
    }
}

/// Keys of every object in a JSON array.
func objectKeys(_ data: Data) throws -> [Set<String>] {
    let list = try #require(try JSONSerialization.jsonObject(with: data) as? [[String: Any]])
    return list.map { Set($0.keys) }
}

/// Element names found directly under each `item` element, and the root's name.
final class XMLShape: NSObject, XMLParserDelegate {
    var root: String?
    var items: [[String]] = []
    private var depth = 0
    private let item: String

    init(_ data: Data, item: String) throws {
        self.item = item
        super.init()
        let parser = XMLParser(data: data)
        parser.delegate = self
        guard parser.parse() else { throw XMLError(message: parser.parserError.map { "\($0)" } ?? "not XML") }
    }

    struct XMLError: Error { var message: String }

    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?, attributes: [String: String]) {
        depth += 1
        if depth == 1 { root = name }
        if name == item && depth == 2 { items.append([]) } else if depth == 3 { items[items.count - 1].append(name) }
    }

    func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) { depth -= 1 }
}

@Suite("embedded Open311 endpoint over HTTP")
struct EmbeddedEndpointTests {
    static let requestFields = Set(["service_request_id", "status", "status_notes", "service_name", "service_code", "description",
                                    "agency_responsible", "service_notice", "requested_datetime", "updated_datetime",
                                    "expected_datetime", "address", "address_id", "zipcode", "lat", "long", "media_url"])

    @Test("services, service definitions and discovery carry the spec's fields in JSON and XML")
    func serviceDiscovery() async throws {
        try await EndpointFixture.with { f in
            let services = try await f.call("GET", "/services.json")
            #expect(services.status == 200 && services.type.hasPrefix("application/json"))
            #expect(try objectKeys(services.body) == [["service_code", "service_name", "description", "metadata", "type", "keywords", "group"]])
            let servicesXML = try await f.call("GET", "/services.xml")
            #expect(servicesXML.type.hasPrefix("text/xml"))
            let shape = try XMLShape(servicesXML.body, item: "service")
            #expect(shape.root == "services")
            #expect(shape.items == [["service_code", "service_name", "description", "metadata", "type", "keywords", "group"]])

            let definition = try await f.call("GET", "/services/pothole.json")
            let d = try #require(try JSONSerialization.jsonObject(with: definition.body) as? [String: Any])
            #expect(d["service_code"] as? String == "pothole")
            let attributes = try #require(d["attributes"] as? [[String: Any]])
            #expect(Set(attributes[0].keys) == ["variable", "code", "datatype", "required", "datatype_description", "order", "description", "values"])
            let definitionXML = try XMLShape(try await f.call("GET", "/services/pothole.xml").body, item: "attributes")
            #expect(definitionXML.root == "service_definition")
            #expect(definitionXML.items.first?.allSatisfy { $0 == "attribute" } == true)

            let missing = try await f.call("GET", "/services/graffiti.json")
            #expect(missing.status == 404)
            #expect(try objectKeys(missing.body) == [["code", "description"]])

            let discovery = try await f.call("GET", "/discovery.json")
            let disc = try #require(try JSONSerialization.jsonObject(with: discovery.body) as? [String: Any])
            #expect(Set(disc.keys) == ["changeset", "contact", "key_service", "endpoints"])
            let endpoint = try #require((disc["endpoints"] as? [[String: Any]])?.first)
            #expect(Set(endpoint.keys) == ["specification", "url", "changeset", "type", "formats"])
            #expect((endpoint["url"] as? String)?.hasSuffix("/open311/v2") == true)
            #expect(try XMLShape(try await f.call("GET", "/discovery.xml").body, item: "endpoints").root == "discovery")
        }
    }

    @Test("POST /requests checks the api_key, the location and the required attributes, with the spec's errors")
    func postValidation() async throws {
        try await EndpointFixture.with { f in
            let noKey = try await f.post(key: nil)
            #expect(noKey.status == 403)
            let badKey = try await f.post(key: "wrong")
            #expect(badKey.status == 403)
            #expect(String(decoding: badKey.body, as: UTF8.self).contains("api_key is not valid"))
            let badKeyXML = try await f.post(key: "wrong", format: "xml")
            let errors = try XMLShape(badKeyXML.body, item: "error")
            #expect(badKeyXML.status == 403 && errors.root == "errors" && errors.items == [["code", "description"]])

            var form = [("api_key", EndpointFixture.key), ("service_code", "pothole"), ("attribute[severity]", "high")]
            #expect(try await f.call("POST", "/requests.json", form: form).status == 400, "no location")
            form.append(("lat", "42.3"))
            #expect(try await f.call("POST", "/requests.json", form: form).status == 400, "lat without long")
            form.append(("long", "-71.05"))
            #expect(try await f.call("POST", "/requests.json", form: form).status == 200)
            let noSeverity = try await f.call("POST", "/requests.json", form: form.filter { $0.0 != "attribute[severity]" })
            #expect(noSeverity.status == 400)
            #expect(String(decoding: noSeverity.body, as: UTF8.self).contains("attribute[severity] is required"))
            let wrongChoice = try await f.post([("attribute[severity]", "enormous")])
            #expect(wrongChoice.status == 400)
            let unknownService = try await f.call("POST", "/requests.json", form: [("api_key", EndpointFixture.key), ("service_code", "graffiti"), ("lat", "1"), ("long", "2")])
            #expect(unknownService.status == 404)
            #expect(try f.store.cityRequestCount() == 1, "only the valid post is stored")

            // A multivaluelist answers as attribute[code][], once per value (one value may also come plain).
            let several = try await f.post([("attribute[hazards][]", "debris"), ("attribute[hazards][]", "water")])
            #expect(several.status == 200, "\(String(decoding: several.body, as: UTF8.self))")
            let one = try await f.post([("attribute[hazards]", "rebar")])
            #expect(one.status == 200)
            let lava = try await f.post([("attribute[hazards][]", "debris"), ("attribute[hazards][]", "lava")])
            #expect(lava.status == 400 && String(decoding: lava.body, as: UTF8.self).contains("got 'lava'"))
            let stored = try f.store.cityRequests(TraceStore.CityRequestQuery(), serviceNames: [:]).map { $0.attributes["hazards"] }
            #expect(Set(stored.compactMap { $0 }) == ["debris,water", "rebar"], "\(stored)")
        }
    }

    @Test("requests round-trip with the spec's fields, filters, ids and XML; times carry a zone")
    func requestsRoundTrip() async throws {
        try await EndpointFixture.with { f in
            let created = try await f.post()
            #expect(created.status == 200)
            #expect(try objectKeys(created.body) == [["service_request_id"]])
            let id = try #require((try JSONSerialization.jsonObject(with: created.body) as? [[String: Any]])?.first?["service_request_id"] as? String)
            _ = try await f.post([("lat", "42.37"), ("long", "-71.06")])

            let one = try await f.call("GET", "/requests/\(id).json")
            #expect(one.status == 200)
            #expect(try objectKeys(one.body) == [Self.requestFields])
            let request = try #require(try JSONDecoder().decode([ServiceRequest].self, from: one.body).first)
            #expect(request.status == "open" && request.serviceName == "Pothole" && request.lat == 42.36025 && request.long == -71.05777)
            #expect(request.description == "Deep hole <b>near</b> the curb & drain")
            let raw = try #require((try JSONSerialization.jsonObject(with: one.body) as? [[String: Any]])?.first)
            let time = try #require(raw["requested_datetime"] as? String)
            #expect(time.hasSuffix("Z") || time.range(of: #"[+-]\d\d:?\d\d$"#, options: .regularExpression) != nil, "\(time)")

            let xml = try await f.call("GET", "/requests/\(id).xml")
            let shape = try XMLShape(xml.body, item: "request")
            #expect(shape.root == "service_requests")
            #expect(shape.items.count == 1 && Set(shape.items[0]) == Self.requestFields && shape.items[0].count == Self.requestFields.count)
            #expect(String(decoding: xml.body, as: UTF8.self).contains("Deep hole &lt;b&gt;near&lt;/b&gt; the curb &amp; drain"))

            #expect(try await f.call("GET", "/requests/999.json").status == 404)
            let all = try JSONDecoder().decode([ServiceRequest].self, from: try await f.call("GET", "/requests.json").body)
            #expect(all.count == 2)
            try f.store.setCityRequestStatus(id: id, status: "closed", notes: "patched", at: Date())
            let open = try JSONDecoder().decode([ServiceRequest].self, from: try await f.call("GET", "/requests.json?status=open&service_code=pothole").body)
            #expect(open.count == 1 && open[0].serviceRequestID != id)
            // service_code is a comma list, as status is; optional arguments sent empty are not sent.
            let listed = try JSONDecoder().decode([ServiceRequest].self, from: try await f.call("GET", "/requests.json?service_code=graffiti,%20pothole").body)
            #expect(listed.count == 2)
            #expect(try JSONDecoder().decode([ServiceRequest].self, from: try await f.call("GET", "/requests.json?service_code=graffiti").body).isEmpty)
            let empties = try await f.call("GET", "/requests.json?start_date=&end_date=&status=open,%20&service_code=,&service_request_id=,")
            let unfiltered = try JSONDecoder().decode([ServiceRequest].self, from: empties.body)
            #expect(empties.status == 200 && unfiltered.count == 1, "the open one: \(unfiltered.map(\.serviceRequestID))")
            let none = try JSONDecoder().decode([ServiceRequest].self, from: try await f.call("GET", "/requests.json?status=&service_code=&service_request_id=").body)
            #expect(none.count == 2)
            let byIDs = try JSONDecoder().decode([ServiceRequest].self, from: try await f.call("GET", "/requests.json?service_request_id=\(id),424242&status=open").body)
            #expect(byIDs.map(\.serviceRequestID) == [id], "ids override the other filters")
            let future = try await f.call("GET", "/requests.json?start_date=2099-01-01T00:00:00Z")
            #expect(try JSONDecoder().decode([ServiceRequest].self, from: future.body).isEmpty)
            #expect(try await f.call("GET", "/requests.json?start_date=yesterday").status == 400)
            #expect(try await f.call("GET", "/requests.json?status=fixed").status == 400)
            #expect(try await f.call("GET", "/requests.csv").status == 400)
        }
    }

    @Test("a deferred-id endpoint answers with a token that /tokens resolves once the id is out")
    func tokens() async throws {
        try await EndpointFixture.with(idDelay: 60) { f in
            let created = try await f.post()
            #expect(try objectKeys(created.body) == [["token"]])
            let token = try #require((try JSONSerialization.jsonObject(with: created.body) as? [[String: Any]])?.first?["token"] as? String)
            let early = try JSONDecoder().decode([TokenAnswer].self, from: try await f.call("GET", "/tokens/\(token).json").body)
            #expect(early.first?.serviceRequestID == nil)
            f.clock.advance(61)
            let late = try JSONDecoder().decode([TokenAnswer].self, from: try await f.call("GET", "/tokens/\(token).json").body)
            #expect(late.first?.serviceRequestID == "1")
            #expect(try XMLShape(try await f.call("GET", "/tokens/\(token).xml").body, item: "request").items == [["service_request_id", "token"]])
            #expect(try await f.call("GET", "/tokens/nope.json").status == 404)
        }
    }

    @Test("the client reads services, definitions and requests, posts, and resolves tokens")
    func client() async throws {
        try await EndpointFixture.with(idDelay: 60) { f in
            let client = GeoReportClient(endpoint: GeoReportEndpoint(baseURL: URL(string: f.base)!, apiKey: EndpointFixture.key, timeout: 60))
            #expect(try await client.services().map(\.serviceCode) == ["pothole"])
            #expect(try await client.definition(of: "pothole").attributes.first?.code == "severity")
            let receipt = try await client.submit(NewRequest(serviceCode: "pothole", lat: 42.3, long: -71.1, description: "x", attributes: ["severity": "low"]))
            let token = try #require(receipt.token)
            #expect(receipt.serviceRequestID == nil)
            #expect(try await client.token(token) == nil)
            f.clock.advance(61)
            let id = try #require(try await client.token(token))
            #expect(try await client.request(id: id)?.serviceCode == "pothole")
            #expect(try await client.requests(serviceCode: "pothole", status: ["open"]).map(\.serviceRequestID) == [id])
            #expect(try await client.request(id: "12345") == nil)

            let refused = GeoReportClient(endpoint: GeoReportEndpoint(baseURL: URL(string: f.base)!, apiKey: "wrong", timeout: 60))
            do {
                _ = try await refused.submit(NewRequest(serviceCode: "pothole", lat: 1, long: 2, attributes: ["severity": "low"]))
                Issue.record("a wrong key must be refused")
            } catch let error as GeoReportError {
                #expect(error.kind == .rejected(status: 403) && !error.isRetryable)
                #expect(error.message.contains("api_key is not valid"))
            }
            let nowhere = GeoReportClient(endpoint: GeoReportEndpoint(baseURL: URL(string: "http://127.0.0.1:9/open311/v2")!, apiKey: nil, timeout: 2))
            do {
                _ = try await nowhere.services()
                Issue.record("nothing listens on port 9")
            } catch let error as GeoReportError {
                #expect(error.kind == .transport && error.isRetryable)
            }
        }
    }
}
