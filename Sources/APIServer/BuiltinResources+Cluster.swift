import KubeCore

/// Kinds stored so that deployment manifests apply (nothing enforces RBAC, routes Services
/// or evicts pods here): ServiceAccounts, Services, RBAC roles and bindings,
/// PodDisruptionBudgets, NetworkPolicies.
extension BuiltinResources {
    static let clusterKinds: [ResourceType] = [
        serviceAccounts, services, clusterRoles, clusterRoleBindings, roles, roleBindings, podDisruptionBudgets,
        networkPolicies,
    ]

    static let serviceAccounts: ResourceType = {
        var type = ResourceType(
            group: "", version: "v1", plural: "serviceaccounts", singular: "serviceaccount", kind: "ServiceAccount",
            isNamespaced: true)
        type.shortNames = ["sa"]
        return type
    }()

    static let services: ResourceType = {
        var type = ResourceType(
            group: "", version: "v1", plural: "services", singular: "service", kind: "Service", isNamespaced: true)
        type.shortNames = ["svc"]
        type.categories = ["all"]
        type.hasStatusSubresource = true
        type.admit = { object in
            if object.value(at: ["spec", "type"]) == nil { object.setValue("ClusterIP", at: ["spec", "type"]) }
            let ports = object.value(at: ["spec", "ports"])?.arrayValue ?? []
            return ports.isEmpty && object.value(at: ["spec", "clusterIP"])?.stringValue != "None"
                ? [.required("spec.ports")] : []
        }
        return type
    }()

    static func rbac(_ plural: String, _ kind: String, namespaced: Bool, requires field: String) -> ResourceType {
        var type = ResourceType(
            group: "rbac.authorization.k8s.io", version: "v1", plural: plural, singular: kind.lowercased(), kind: kind,
            isNamespaced: namespaced)
        type.admit = { object in
            if field == "roleRef" {
                guard object["roleRef"]?["kind"] != nil, object["roleRef"]?["name"] != nil else {
                    return [.required("roleRef")]
                }
                return []
            }
            // Rules must name verbs and resources (or nonResourceURLs).
            var causes: [FieldCause] = []
            for (index, rule) in (object["rules"]?.arrayValue ?? []).enumerated()
            where (rule["verbs"]?.arrayValue ?? []).isEmpty {
                causes.append(.required("rules[\(index)].verbs"))
            }
            return causes
        }
        return type
    }

    static let clusterRoles = rbac("clusterroles", "ClusterRole", namespaced: false, requires: "rules")
    static let clusterRoleBindings = rbac(
        "clusterrolebindings", "ClusterRoleBinding", namespaced: false, requires: "roleRef")
    static let roles = rbac("roles", "Role", namespaced: true, requires: "rules")
    static let roleBindings = rbac("rolebindings", "RoleBinding", namespaced: true, requires: "roleRef")

    static let podDisruptionBudgets: ResourceType = {
        var type = ResourceType(
            group: "policy", version: "v1", plural: "poddisruptionbudgets", singular: "poddisruptionbudget",
            kind: "PodDisruptionBudget", isNamespaced: true)
        type.shortNames = ["pdb"]
        type.hasStatusSubresource = true
        type.tracksGeneration = true
        return type
    }()

    static let networkPolicies: ResourceType = {
        var type = ResourceType(
            group: "networking.k8s.io", version: "v1", plural: "networkpolicies", singular: "networkpolicy",
            kind: "NetworkPolicy", isNamespaced: true)
        type.shortNames = ["netpol"]
        type.tracksGeneration = true
        type.admit = { object in
            object.value(at: ["spec", "podSelector"]) == nil ? [.required("spec.podSelector")] : []
        }
        return type
    }()
}
