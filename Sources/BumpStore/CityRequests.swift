import Foundation
import GRDB
import Open311

/// The embedded Open311 server's own queue of service requests: what a city without a 311
/// system works from, and what any Open311 client reads.
extension TraceStore {
    /// A request as the embedded server stores it.
    public struct CityRequest: Sendable, Equatable {
        public var request: ServiceRequest
        public var token: String
        public var attributes: [String: String]
        /// Until this time the request is known only by its token (deferred-id servers).
        public var idHiddenUntil: Date
    }

    /// Filters of `GET /requests`; nil means no filter.
    public struct CityRequestQuery: Sendable {
        public var ids: [String]?
        public var serviceCodes: [String]?
        public var statuses: [String]?
        public var start: Date?
        public var end: Date?
        public var limit: Int

        public init(ids: [String]? = nil, serviceCodes: [String]? = nil, statuses: [String]? = nil, start: Date? = nil,
                    end: Date? = nil, limit: Int = 1_000) {
            self.ids = ids
            self.serviceCodes = serviceCodes
            self.statuses = statuses
            self.start = start
            self.end = end
            self.limit = limit
        }
    }

    /// Stores a new request and returns it with its id and token.
    public func addCityRequest(_ new: NewRequest, serviceName: String, jurisdictionID: String?, notice: String?,
                               at now: Date, idHiddenFor: Double = 0) throws -> CityRequest {
        try pool.write { db in
            let token = UUID().uuidString.lowercased()
            // Several values of one attribute are kept as one, comma-separated.
            let answers = new.attributes.merging(new.listAttributes.mapValues { $0.joined(separator: ",") }) { a, _ in a }
            let attributes = String(decoding: try JSONEncoder().encode(answers), as: UTF8.self)
            try db.execute(sql: """
                INSERT INTO open311_request(token, service_code, status, description, service_notice, requested_at,
                    updated_at, address, address_id, lat, long, media_url, attributes, jurisdiction_id, email,
                    device_id, account_id, first_name, last_name, phone, id_hidden_until)
                VALUES (?, ?, 'open', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [
                    token, new.serviceCode, new.description, notice, now.timeIntervalSince1970, now.timeIntervalSince1970,
                    new.addressString, new.addressID, new.lat, new.long, new.mediaURL, attributes, jurisdictionID,
                    new.email, new.deviceID, new.accountID, new.firstName, new.lastName, new.phone,
                    // 0, not "now", for ids released at once: a time read back from REAL may
                    // come out a hair later than the clock and hide the request.
                    idHiddenFor > 0 ? now.timeIntervalSince1970 + idHiddenFor : 0,
                ])
            let id = db.lastInsertedRowID
            return CityRequest(
                request: ServiceRequest(
                    serviceRequestID: String(id), status: "open", serviceName: serviceName, serviceCode: new.serviceCode,
                    description: new.description, serviceNotice: notice, requestedDatetime: now, updatedDatetime: now,
                    address: new.addressString, addressID: new.addressID, lat: new.lat, long: new.long, mediaURL: new.mediaURL),
                token: token, attributes: answers,
                idHiddenUntil: idHiddenFor > 0 ? now.addingTimeInterval(idHiddenFor) : Date(timeIntervalSince1970: 0))
        }
    }

    /// Requests matching `query`, newest first, at most `query.limit`. `serviceNames` fills service_name.
    public func cityRequests(_ query: CityRequestQuery, serviceNames: [String: String]) throws -> [CityRequest] {
        var clauses: [String] = []
        var args: [any DatabaseValueConvertible] = []
        if let ids = query.ids {
            // Ids this server never issues (not numbers) match nothing.
            let numeric = ids.compactMap { Int64($0) }
            clauses.append(numeric.isEmpty ? "0" : "id IN (\(Self.placeholders(numeric.count)))")
            args += numeric
        }
        if let codes = query.serviceCodes {
            clauses.append(codes.isEmpty ? "0" : "service_code IN (\(Self.placeholders(codes.count)))")
            args += codes
        }
        if let statuses = query.statuses {
            clauses.append(statuses.isEmpty ? "0" : "status IN (\(Self.placeholders(statuses.count)))")
            args += statuses
        }
        if let start = query.start {
            clauses.append("requested_at >= ?")
            args.append(start.timeIntervalSince1970)
        }
        if let end = query.end {
            clauses.append("requested_at <= ?")
            args.append(end.timeIntervalSince1970)
        }
        let whereSQL = clauses.isEmpty ? "" : "WHERE " + clauses.joined(separator: " AND ")
        return try pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM open311_request \(whereSQL) ORDER BY requested_at DESC, id DESC LIMIT ?",
                             arguments: StatementArguments(args + [query.limit]))
                .map { Self.cityRequest(from: $0, serviceNames: serviceNames) }
        }
    }

    public func cityRequest(id: String, serviceNames: [String: String]) throws -> CityRequest? {
        guard let n = Int64(id) else { return nil }
        return try pool.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM open311_request WHERE id = ?", arguments: [n])
                .map { Self.cityRequest(from: $0, serviceNames: serviceNames) }
        }
    }

    public func cityRequest(token: String, serviceNames: [String: String]) throws -> CityRequest? {
        try pool.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM open311_request WHERE token = ?", arguments: [token])
                .map { Self.cityRequest(from: $0, serviceNames: serviceNames) }
        }
    }

    /// What the city's crew reports back: open or closed, with notes. False when no such request.
    @discardableResult
    public func setCityRequestStatus(id: String, status: String, notes: String?, at now: Date) throws -> Bool {
        guard let n = Int64(id) else { return false }
        return try pool.write { db in
            try db.execute(sql: "UPDATE open311_request SET status = ?, status_notes = ?, updated_at = ? WHERE id = ?",
                           arguments: [status, notes, now.timeIntervalSince1970, n])
            return db.changesCount > 0
        }
    }

    public func cityRequestCount() throws -> Int {
        try pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM open311_request") ?? 0 }
    }

    static func placeholders(_ n: Int) -> String { Array(repeating: "?", count: n).joined(separator: ",") }

    private static func cityRequest(from r: Row, serviceNames: [String: String]) -> CityRequest {
        let code: String = r["service_code"]
        let attributes = (r["attributes"] as String?).flatMap { try? JSONDecoder().decode([String: String].self, from: Data($0.utf8)) } ?? [:]
        func date(_ column: String) -> Date? { (r[column] as Double?).map { Date(timeIntervalSince1970: $0) } }
        return CityRequest(
            request: ServiceRequest(
                serviceRequestID: String(r["id"] as Int64), status: r["status"], statusNotes: r["status_notes"],
                serviceName: serviceNames[code], serviceCode: code, description: r["description"],
                agencyResponsible: r["agency_responsible"], serviceNotice: r["service_notice"],
                requestedDatetime: date("requested_at"), updatedDatetime: date("updated_at"),
                expectedDatetime: date("expected_at"), address: r["address"], addressID: r["address_id"],
                zipcode: r["zipcode"], lat: r["lat"], long: r["long"], mediaURL: r["media_url"]),
            token: r["token"], attributes: attributes, idHiddenUntil: date("id_hidden_until") ?? .distantPast)
    }
}
