import Digest
import Foundation
import KubeCore
import Transport

/// `/openapi/v3`: a root listing one document per group-version (with a content hash that
/// changes whenever the document does, since clients cache hashed URLs), and per-GV documents
/// whose operations carry `x-kubernetes-group-version-kind` and the `fieldValidation`
/// parameter — what kubectl needs to use server-side field validation. Component schemas are
/// the CRD schemas; built-ins are described as open objects.
enum OpenAPI {
    static func serve(_ request: ServerRequest, _ writer: ResponseWriter, registry: ResourceRegistry, server: APIServer)
        throws(APIError)
    {
        let path = request.path
        if path == "/openapi/v3" || path == "/openapi/v3/" {
            var paths: [String: JSONValue] = [:]
            for (key, document) in documents(registry) {
                paths[key] = ["serverRelativeURL": .string("/openapi/v3/\(key)?hash=\(hash(document))")]
            }
            server.send(writer, 200, ["paths": .object(paths)])
            return
        }
        let key = String(path.dropFirst("/openapi/v3/".count))
        guard path.hasPrefix("/openapi/v3/"), let document = documents(registry)[key] else { throw .pathNotFound(path) }
        server.send(writer, 200, document, headers: [("Cache-Control", "public, immutable")])
    }

    static func hash(_ document: JSONValue) -> String {
        SHA256.hash(document.serialized()).prefix(8).map { String(format: "%02X", $0) }.joined()
    }

    static func documents(_ registry: ResourceRegistry) -> [String: JSONValue] {
        var byGroupVersion: [String: [ResourceType]] = [:]
        for type in registry.all {
            byGroupVersion[type.group.isEmpty ? "api/v1" : "apis/\(type.group)/\(type.version)", default: []].append(
                type)
        }
        return byGroupVersion.mapValues(document)
    }

    private static func parameter(_ name: String, _ type: String = "string") -> JSONValue {
        ["name": .string(name), "in": "query", "schema": ["type": .string(type), "uniqueItems": true]]
    }

    static func document(_ types: [ResourceType]) -> JSONValue {
        var paths: [String: JSONValue] = [:]
        var schemas: [String: JSONValue] = [:]
        for type in types {
            let gvk: JSONValue = [
                "group": .string(type.group), "version": .string(type.version), "kind": .string(type.kind),
            ]
            let writeParameters: JSONValue = [
                parameter("dryRun"), parameter("fieldManager"), parameter("fieldValidation"),
            ]
            var patchParameters = writeParameters.arrayValue!
            patchParameters.append(parameter("force", "boolean"))
            var patchMediaTypes: [String: JSONValue] = [
                "application/json-patch+json": [:], "application/merge-patch+json": [:],
                "application/apply-patch+yaml": [:],
            ]
            if !type.isCustomResource { patchMediaTypes["application/strategic-merge-patch+json"] = [:] }
            let base =
                (type.group.isEmpty ? "/api/v1" : "/apis/\(type.groupVersion)")
                + (type.isNamespaced ? "/namespaces/{namespace}" : "")
            paths["\(base)/\(type.plural)"] = [
                "post": ["parameters": writeParameters, "responses": [:], "x-kubernetes-group-version-kind": gvk],
                "get": ["responses": [:], "x-kubernetes-group-version-kind": gvk],
            ]
            paths["\(base)/\(type.plural)/{name}"] = [
                "put": ["parameters": writeParameters, "responses": [:], "x-kubernetes-group-version-kind": gvk],
                "patch": [
                    "parameters": .array(patchParameters), "responses": [:], "x-kubernetes-group-version-kind": gvk,
                    "requestBody": ["content": .object(patchMediaTypes)],
                ],
                "get": ["responses": [:], "x-kubernetes-group-version-kind": gvk],
                "delete": ["responses": [:], "x-kubernetes-group-version-kind": gvk],
            ]
            let reversedGroup =
                type.group.isEmpty
                ? "io.k8s.api.core" : type.group.split(separator: ".").reversed().joined(separator: ".")
            // A custom resource is described by its CRD's schema (kubectl explain reads it);
            // built-ins as open objects.
            var schema: JSONValue =
                type.schemaDocument ?? ["type": "object", "x-kubernetes-preserve-unknown-fields": true]
            schema["x-kubernetes-group-version-kind"] = [gvk]
            var properties = schema["properties"]?.objectValue ?? [:]
            properties["apiVersion"] = [
                "type": "string",
                "description": "APIVersion defines the versioned schema of this representation of an object.",
            ]
            properties["kind"] = [
                "type": "string",
                "description": "Kind is a string value representing the REST resource this object represents.",
            ]
            properties["metadata"] = ["type": "object", "description": "Standard object's metadata."]
            schema["properties"] = .object(properties)
            schemas["\(reversedGroup).\(type.version).\(type.kind)"] = schema
        }
        return [
            "openapi": "3.0.0",
            "info": ["title": "Kubernetes", "version": "v1.32.0"],
            "paths": .object(paths),
            "components": ["schemas": .object(schemas)],
        ]
    }
}
