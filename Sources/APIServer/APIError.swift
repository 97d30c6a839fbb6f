import KubeCore

/// A failed request, rendered as a meta/v1 `Status` with the reason and code clients
/// classify by (https://kubernetes.io/docs/reference/using-api/api-concepts/#status-objects).
struct APIError: Error, Sendable {
    var code: Int
    var reason: String
    var message: String
    var details: JSONValue?
    var headers: [(String, String)] = []

    var status: JSONValue {
        var status: [String: JSONValue] = [
            "kind": "Status", "apiVersion": "v1", "metadata": [:],
            "status": "Failure", "message": .string(message), "reason": .string(reason),
            "code": .integer(Int64(code)),
        ]
        if let details { status["details"] = details }
        return .object(status)
    }

    private static func details(_ type: ResourceType, _ name: String) -> JSONValue {
        ["name": .string(name), "group": .string(type.group), "kind": .string(type.plural)]
    }

    static func notFound(_ type: ResourceType, _ name: String) -> APIError {
        APIError(
            code: 404, reason: "NotFound", message: "\(type.qualifiedName) \"\(name)\" not found",
            details: details(type, name))
    }

    static func alreadyExists(_ type: ResourceType, _ name: String) -> APIError {
        APIError(
            code: 409, reason: "AlreadyExists", message: "\(type.qualifiedName) \"\(name)\" already exists",
            details: details(type, name))
    }

    static func conflict(
        _ type: ResourceType, _ name: String,
        _ detail: String = "the object has been modified; please apply your changes to the latest version and try again"
    ) -> APIError {
        APIError(
            code: 409, reason: "Conflict",
            message: "Operation cannot be fulfilled on \(type.qualifiedName) \"\(name)\": \(detail)",
            details: details(type, name))
    }

    static func invalid(_ type: ResourceType, _ name: String, _ causes: [FieldCause]) -> APIError {
        let summary = causes.map { "\($0.field): \($0.message)" }
        let text = summary.count == 1 ? summary[0] : "[" + summary.joined(separator: ", ") + "]"
        return APIError(
            code: 422, reason: "Invalid", message: "\(type.qualifiedKind) \"\(name)\" is invalid: \(text)",
            details: [
                "name": .string(name), "group": .string(type.group), "kind": .string(type.kind),
                "causes": .array(
                    causes.map {
                        ["reason": .string($0.type), "message": .string($0.message), "field": .string($0.field)]
                    }),
            ]
        )
    }

    static func badRequest(_ message: String) -> APIError {
        APIError(code: 400, reason: "BadRequest", message: message)
    }

    static func namespaceNotFound(_ namespace: String) -> APIError {
        APIError(
            code: 404, reason: "NotFound", message: "namespaces \"\(namespace)\" not found",
            details: ["name": .string(namespace), "kind": "namespaces"])
    }

    static func expired(_ message: String) -> APIError {
        APIError(code: 410, reason: "Expired", message: message)
    }

    static func methodNotAllowed(_ message: String) -> APIError {
        APIError(code: 405, reason: "MethodNotAllowed", message: message)
    }

    static func unsupportedMediaType(_ contentType: String) -> APIError {
        APIError(
            code: 415, reason: "UnsupportedMediaType",
            message:
                "the body of the request was in an unknown format - accepted media types include: "
                + "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml (got "
                + "\(contentType))"
        )
    }

    static let unauthorized = APIError(code: 401, reason: "Unauthorized", message: "Unauthorized")

    static func pathNotFound(_ path: String) -> APIError {
        APIError(code: 404, reason: "NotFound", message: "the server could not find the requested resource (\(path))")
    }
}
