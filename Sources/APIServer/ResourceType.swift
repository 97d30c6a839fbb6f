import Foundation
import KubeCore

/// One servable resource (a plural under a group/version) and the registry strategy the
/// generic handlers follow for it: built-ins come from `BuiltinResources`, custom resources
/// from a CustomResourceDefinition (`CustomResourceDefinitions.resourceTypes`).
struct ResourceType: Sendable {
    var group: String
    var version: String
    var plural: String
    var singular: String
    var kind: String
    var listKind: String
    var isNamespaced: Bool
    var shortNames: [String] = []
    var categories: [String] = []
    var verbs: [String] = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]

    /// Objects of the types that share a storage key are one set viewed through different
    /// versions (core/v1 and events.k8s.io/v1 Events; the versions of one CRD).
    var storageKey: String
    /// Converts between the stored form and this view's form.
    var view: ObjectView = .identity

    /// Writes to `.status` go only through `/status`, and main writes keep the old status.
    var hasStatusSubresource = false
    /// `/scale` maps to autoscaling/v1 Scale through these paths.
    var scale: ScalePaths?
    /// `metadata.generation` is maintained (bumped on changes outside metadata and status).
    var tracksGeneration = false
    /// PUT without `metadata.resourceVersion` is allowed (ConfigMap, Lease); otherwise 422.
    var allowsUnconditionalUpdate = true
    /// Custom resources: strategic merge patch is refused with 415.
    var isCustomResource = false
    /// The structural schema of a custom resource version, if it has one.
    var schema: StructuralSchema?
    /// The CRD version's openAPIV3Schema as written (served in /openapi/v3 for kubectl explain).
    var schemaDocument: JSONValue?
    /// Field-selector paths beyond metadata.name / metadata.namespace.
    var selectableFields: [String] = []
    /// Table columns after Name (kubectl get).
    var columns: [TableColumn] = []
    /// Built-in defaulting and validation on create and update, in the served view's form
    /// (custom resources use `schema` instead).
    var admit: @Sendable (inout JSONValue) -> [FieldCause] = { _ in [] }

    var groupVersion: String { group.isEmpty ? version : "\(group)/\(version)" }
    /// `scalingpolicies.forescale.io`, as the API server names resources in messages.
    var qualifiedName: String { group.isEmpty ? plural : "\(plural).\(group)" }
    var qualifiedKind: String { group.isEmpty ? kind : "\(kind).\(group)" }

    init(
        group: String, version: String, plural: String, singular: String, kind: String, isNamespaced: Bool,
        storageKey: String? = nil
    ) {
        self.group = group
        self.version = version
        self.plural = plural
        self.singular = singular
        self.kind = kind
        self.listKind = kind + "List"
        self.isNamespaced = isNamespaced
        self.storageKey = storageKey ?? (group.isEmpty ? "core/\(plural)" : "\(group)/\(plural)")
    }

    func matches(name: String) -> Bool {
        name == plural || name == singular || shortNames.contains(name)
    }
}

/// Where a resource keeps its replica count and selector, for the `/scale` subresource.
struct ScalePaths: Sendable {
    var specReplicas: [String]
    var statusReplicas: [String]
    var labelSelector: [String]?
}

/// A reason to reject an object (422 Invalid), as `details.causes[]` reports it.
struct FieldCause: Sendable, Equatable {
    var type: String
    var field: String
    var message: String

    static func required(_ field: String) -> FieldCause {
        FieldCause(type: "FieldValueRequired", field: field, message: "Required value")
    }

    static func invalid(_ field: String, _ value: String, _ detail: String) -> FieldCause {
        FieldCause(type: "FieldValueInvalid", field: field, message: "Invalid value: \(value): \(detail)")
    }
}

/// Conversion between the stored form and one served version's form.
struct ObjectView: Sendable {
    var toStored: @Sendable (JSONValue) -> JSONValue
    var fromStored: @Sendable (JSONValue) -> JSONValue
    /// Stored bytes can be served as they are.
    var isIdentity = false

    static let identity = ObjectView(toStored: { $0 }, fromStored: { $0 }, isIdentity: true)

    /// Only apiVersion differs (CRD versions with conversion strategy None).
    static func apiVersion(_ served: String, stored: String) -> ObjectView {
        ObjectView(
            toStored: { object in
                var copy = object
                copy["apiVersion"] = .string(stored)
                return copy
            },
            fromStored: { object in
                var copy = object
                copy["apiVersion"] = .string(served)
                return copy
            }
        )
    }
}
