import Foundation
import Hummingbird

/// The review page at `/`: plain HTML, CSS and JavaScript written here (no build step), and
/// Leaflet from Debian's libjs-leaflet when it is installed.
public struct ReviewPage: Sendable {
    /// Where Debian's libjs-leaflet puts Leaflet.
    public let leafletDirectory: String

    public init(leafletDirectory: String = "/usr/share/javascript/leaflet") {
        self.leafletDirectory = leafletDirectory
    }

    public func addRoutes<Context: RequestContext>(to router: Router<Context>) {
        router.get("/") { _, _ in Self.page(PageAssets.html, type: "text/html; charset=utf-8") }
        router.get("/review.js") { _, _ in Self.page(PageAssets.script, type: "text/javascript; charset=utf-8") }
        router.get("/review.css") { _, _ in Self.page(PageAssets.style, type: "text/css; charset=utf-8") }
        router.get("/vendor/leaflet/:file") { _, context in try self.leaflet(context.parameters.require("file")) }
        router.get("/vendor/leaflet/images/:file") { _, context in try self.leaflet("images/" + context.parameters.require("file")) }
    }

    /// Only Leaflet's own files, by exact name: nothing else on disk is reachable.
    static let leafletFiles: [String: String] = [
        "leaflet.js": "text/javascript", "leaflet.css": "text/css", "images/layers.png": "image/png",
        "images/layers-2x.png": "image/png", "images/marker-icon.png": "image/png",
        "images/marker-icon-2x.png": "image/png", "images/marker-shadow.png": "image/png",
    ]

    func leaflet(_ file: String) throws -> Response {
        guard let type = Self.leafletFiles[file], let data = FileManager.default.contents(atPath: leafletDirectory + "/" + file) else {
            return Response(status: .notFound, headers: [.contentType: "text/plain"], body: .init(byteBuffer: ByteBuffer(string: "not here\n")))
        }
        return Response(status: .ok, headers: [.contentType: type, .cacheControl: "max-age=86400"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// A page resource with the security headers every page gets.
    static func page(_ text: String, type: String) -> Response {
        Response(status: .ok, headers: [
            .contentType: type,
            .cacheControl: "no-store",
            .contentSecurityPolicy: "default-src 'self'; img-src 'self' data: https: http:; style-src 'self' 'unsafe-inline'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
            .xContentTypeOptions: "nosniff",
        ], body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}
