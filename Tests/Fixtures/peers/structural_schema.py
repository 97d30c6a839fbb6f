#!/usr/bin/env python3
"""Checks CustomResourceDefinitions (apiextensions.k8s.io/v1) against the rules kube-apiserver
applies to a version's openAPIV3Schema before it accepts the CRD, written from the rules in
kubernetes/apiextensions-apiserver (pkg/apiserver/schema/validation.go: ValidateStructural and
its completeness check; pkg/apis/apiextensions/validation/validation.go: the keywords v1
forbids, list/map types, x-kubernetes-validations, defaults). Not a copy of that code: an
independent reading of it, kept apart from the embedded API server's own schema handling.

  python3 structural_schema.py FILE...      (YAML, one or more documents)

Prints one line per problem ("FILE: CRD version PATH: message") and exits 1 when there is any,
else prints "structural: N versions of M CRDs" and exits 0.
"""
import re
import sys

import yaml

JUNCTORS = ("allOf", "anyOf", "oneOf", "not")
# Keywords v1 refuses anywhere in a schema (validation.go's allowedAtRoot / forbidden list).
FORBIDDEN = {
    "id": "id is not supported",
    "$ref": "$ref is not supported",
    "definitions": "definitions is not supported",
    "dependencies": "dependencies is not supported",
    "patternProperties": "patternProperties is not supported",
    "additionalItems": "additionalItems is not supported",
    "$schema": "$schema is not supported",
}
KNOWN = {
    "type", "format", "title", "description", "default", "nullable", "enum", "maximum", "minimum",
    "exclusiveMaximum", "exclusiveMinimum", "maxLength", "minLength", "pattern", "maxItems", "minItems",
    "uniqueItems", "multipleOf", "maxProperties", "minProperties", "required", "items", "properties",
    "additionalProperties", "example", "externalDocs", "x-kubernetes-preserve-unknown-fields",
    "x-kubernetes-embedded-resource", "x-kubernetes-int-or-string", "x-kubernetes-list-map-keys",
    "x-kubernetes-list-type", "x-kubernetes-map-type", "x-kubernetes-validations", *JUNCTORS, *FORBIDDEN,
}
TYPES = {"object", "array", "string", "integer", "number", "boolean"}
SCALARS = {"string", "integer", "number", "boolean"}
# Generics a value validation (inside a junctor) must not carry to be structural.
NESTED_FORBIDDEN = ("type", "default", "title", "description", "nullable", "additionalProperties",
                    "x-kubernetes-preserve-unknown-fields", "x-kubernetes-embedded-resource",
                    "x-kubernetes-int-or-string")
INT_OR_STRING = [{"type": "integer"}, {"type": "string"}]


class Checker:
    def __init__(self):
        self.problems = []

    def say(self, path, message):
        self.problems.append(f"{path}: {message}")

    # The structural part: a type everywhere, items for arrays, no properties beside
    # additionalProperties, metadata only name/generateName at the root.
    def node(self, schema, path, level, in_metadata=False):
        if not isinstance(schema, dict):
            self.say(path, "must be a schema object")
            return
        for key in schema:
            if key in FORBIDDEN:
                self.say(f"{path}.{key}", FORBIDDEN[key])
            elif key not in KNOWN:
                self.say(f"{path}.{key}", "unknown field")
        kind = schema.get("type", "")
        if kind == "null":
            self.say(f"{path}.type", "type cannot be set to null, use nullable as an alternative")
        elif kind and kind not in TYPES:
            self.say(f"{path}.type", f"unsupported type {kind!r}")
        preserve = schema.get("x-kubernetes-preserve-unknown-fields")
        int_or_string = schema.get("x-kubernetes-int-or-string", False)
        embedded = schema.get("x-kubernetes-embedded-resource", False)
        if preserve is False:
            self.say(f"{path}.x-kubernetes-preserve-unknown-fields", "must be true or undefined")
        if int_or_string and preserve:
            self.say(f"{path}.x-kubernetes-preserve-unknown-fields", "must be false if x-kubernetes-int-or-string is true")
        if int_or_string and embedded:
            self.say(f"{path}.x-kubernetes-embedded-resource", "must be false if x-kubernetes-int-or-string is true")
        if embedded and in_metadata:
            self.say(f"{path}.x-kubernetes-embedded-resource", "must not be used inside of resource meta")
        if embedded and kind != "object":
            self.say(f"{path}.type", "must be object if x-kubernetes-embedded-resource is true")
        elif not kind and not int_or_string and not preserve:
            where = {"root": "at the root", "item": "for specified array items", "field": "for specified object fields"}
            self.say(f"{path}.type", f"must not be empty {where[level]}")
        if level == "root":
            if kind and kind != "object":
                self.say(f"{path}.type", "must be object at the root")
            if schema.get("nullable"):
                self.say(f"{path}.nullable", "nullable cannot be true at the root")
            if "additionalProperties" in schema:
                self.say(f"{path}.additionalProperties", "must not be used at the root")
        if schema.get("uniqueItems") is True:
            self.say(f"{path}.uniqueItems", "uniqueItems cannot be set to true since the runtime complexity becomes quadratic")
        if kind == "array" and "items" not in schema:
            self.say(f"{path}.items", "must be specified")
        if isinstance(schema.get("items"), list):
            self.say(f"{path}.items", "items must be a schema object and not an array")
        elif "items" in schema:
            self.node(schema["items"], f"{path}.items", "item", in_metadata)
        properties = schema.get("properties", {})
        additional = schema.get("additionalProperties")
        if properties and additional not in (None, False):
            self.say(f"{path}.additionalProperties", "additionalProperties and properties are mutual exclusive")
        if isinstance(additional, dict):
            self.node(additional, f"{path}.additionalProperties", "field", in_metadata)
        check_meta = level == "root" or embedded
        for name, child in properties.items():
            self.node(child, f"{path}.properties[{name}]", "field", in_metadata or (check_meta and name == "metadata"))
        for name in ("kind", "apiVersion"):
            if check_meta and name in properties and properties[name].get("type") != "string":
                self.say(f"{path}.properties[{name}].type", "must be string")
        if "metadata" in properties:
            self.metadata(properties["metadata"], f"{path}.properties[metadata]", check_meta, level == "root")
        if embedded and not preserve and not properties:
            self.say(f"{path}.properties", "must not be empty if x-kubernetes-embedded-resource is true without "
                     "x-kubernetes-preserve-unknown-fields")
        if "pattern" in schema:
            try:
                re.compile(schema["pattern"])
            except re.error as error:
                self.say(f"{path}.pattern", f"must be a valid regular expression, but isn't: {error}")
        self.lists_and_maps(schema, path)
        self.rules(schema, path)
        self.junctors(schema, path)
        if "default" in schema:
            if in_metadata:
                self.say(f"{path}.default", "must not be set inside object metadata")
            self.value(schema["default"], schema, f"{path}.default")

    def metadata(self, schema, path, check_meta, at_root):
        if check_meta and schema.get("type") != "object":
            self.say(f"{path}.type", "must be object")
        if at_root:
            rest = {k: v for k, v in schema.items() if k not in ("type", "default")}
            names = set(rest.pop("properties", {}) or {})
            if rest or not names <= {"name", "generateName"}:
                self.say(path, "must not specify anything other than name and generateName, but metadata is "
                         "implicitly specified")

    def lists_and_maps(self, schema, path):
        kind = schema.get("type")
        if "x-kubernetes-map-type" in schema:
            if kind != "object":
                self.say(f"{path}.type", "must be object if x-kubernetes-map-type is specified")
            if schema["x-kubernetes-map-type"] not in ("granular", "atomic"):
                self.say(f"{path}.x-kubernetes-map-type", "must be granular or atomic")
        list_type = schema.get("x-kubernetes-list-type")
        keys = schema.get("x-kubernetes-list-map-keys")
        if list_type is not None:
            if kind != "array":
                self.say(f"{path}.type", "must be array if x-kubernetes-list-type is specified")
            if list_type not in ("atomic", "set", "map"):
                self.say(f"{path}.x-kubernetes-list-type", "must be atomic, set or map")
        items = schema.get("items") if isinstance(schema.get("items"), dict) else {}
        if list_type == "set" and (items.get("type") not in SCALARS and items.get("x-kubernetes-map-type") != "atomic"
                                   and items.get("x-kubernetes-list-type", "atomic") != "atomic"):
            self.say(f"{path}.items", "must be atomic as item of a list with x-kubernetes-list-type=set")
        if keys and list_type != "map":
            self.say(f"{path}.x-kubernetes-list-type", "must be map if x-kubernetes-list-map-keys is non-empty")
        if list_type == "map":
            if not keys:
                self.say(f"{path}.x-kubernetes-list-map-keys", "must not be empty if x-kubernetes-list-type is map")
            if items.get("type") != "object":
                self.say(f"{path}.items.type", "must be object if parent array's x-kubernetes-list-type is map")
            for key in keys or []:
                field = items.get("properties", {}).get(key)
                if field is None or field.get("type") not in SCALARS:
                    self.say(f"{path}.items.properties[{key}].type",
                             "must be a scalar type if parent array's x-kubernetes-list-type is map")
                elif "default" not in field and key not in items.get("required", []):
                    self.say(f"{path}.items.properties[{key}].default",
                             "this property is in x-kubernetes-list-map-keys, so it must have a default or be a "
                             "required property")
            if keys and len(set(keys)) != len(keys):
                self.say(f"{path}.x-kubernetes-list-map-keys", "must not contain duplicate entries")

    def rules(self, schema, path):
        for index, rule in enumerate(schema.get("x-kubernetes-validations", []) or []):
            where = f"{path}.x-kubernetes-validations[{index}]"
            unknown = set(rule) - {"rule", "message", "messageExpression", "reason", "fieldPath", "optionalOldSelf"}
            if unknown:
                self.say(where, f"unknown fields {sorted(unknown)}")
            text = rule.get("rule", "")
            if not text.strip():
                self.say(f"{where}.rule", "rule is not specified")
            message = rule.get("message")
            if message is not None and not message.strip():
                self.say(f"{where}.message", "must be non-empty if specified")
            if message and "\n" in message:
                self.say(f"{where}.message", "must not contain line breaks")
            if "\n" in text and not message:
                self.say(f"{where}.message", "message must be specified if rule contains line breaks")
            if rule.get("reason") not in (None, "FieldValueInvalid", "FieldValueForbidden", "FieldValueRequired",
                                          "FieldValueDuplicate"):
                self.say(f"{where}.reason", "must be one of FieldValueInvalid, FieldValueForbidden, "
                         "FieldValueRequired, FieldValueDuplicate")

    # Inside allOf/anyOf/oneOf/not only value validations: no types, defaults, descriptions,
    # nullable, additionalProperties or x-kubernetes extensions, and every property they name
    # must be specified outside them (the completeness check).
    def junctors(self, schema, path):
        int_or_string = schema.get("anyOf") == INT_OR_STRING
        first_all_of = (schema.get("allOf") or [{}])[0].get("anyOf") == INT_OR_STRING
        for junctor in JUNCTORS:
            values = schema.get(junctor)
            if values is None:
                continue
            for index, nested in enumerate(values if isinstance(values, list) else [values]):
                where = f"{path}.{junctor}" + (f"[{index}]" if junctor != "not" else "")
                skip = (junctor == "anyOf" and int_or_string) or (junctor == "allOf" and index == 0 and first_all_of)
                self.nested(nested, schema, where, skip)

    def nested(self, value, structural, path, skip_any_of=False):
        if not isinstance(value, dict):
            self.say(path, "must be a schema object")
            return
        for key in NESTED_FORBIDDEN:
            if key in value and not (skip_any_of and key == "type"):
                self.say(f"{path}.{key}", "must be undefined to be structural")
        for junctor in JUNCTORS:
            inner = value.get(junctor)
            if inner is None or (junctor == "anyOf" and skip_any_of and inner == INT_OR_STRING):
                continue
            for index, nested in enumerate(inner if isinstance(inner, list) else [inner]):
                self.nested(nested, structural, f"{path}.{junctor}[{index}]")
        for name, field in (value.get("properties") or {}).items():
            outside = (structural.get("properties") or {}).get(name)
            if outside is None:
                self.say(f"{path}.properties[{name}]", "must be specified outside the junctor (structural completeness)")
            else:
                self.nested(field, outside, f"{path}.properties[{name}]")
        if "items" in value:
            if "items" not in structural:
                self.say(f"{path}.items", "must be specified outside the junctor (structural completeness)")
            else:
                self.nested(value["items"], structural["items"], f"{path}.items")

    # A default must be pruned (no field the schema does not know) and valid against it.
    def value(self, value, schema, path):
        kind = schema.get("type")
        if value is None:
            if not schema.get("nullable"):
                self.say(path, "must not be null")
            return
        python = {"object": dict, "array": list, "string": str, "boolean": bool}
        if kind in python and not isinstance(value, python[kind]):
            self.say(path, f"must be of type {kind}")
            return
        if kind in ("integer", "number") and (isinstance(value, bool) or not isinstance(value, (int, float))
                                              or (kind == "integer" and value != int(value))):
            self.say(path, f"must be of type {kind}")
            return
        if "enum" in schema and value not in schema["enum"]:
            self.say(path, f"must be one of {schema['enum']}")
        if kind in ("integer", "number"):
            if "minimum" in schema and (value < schema["minimum"] or (schema.get("exclusiveMinimum") and value == schema["minimum"])):
                self.say(path, f"must be at least {schema['minimum']}")
            if "maximum" in schema and (value > schema["maximum"] or (schema.get("exclusiveMaximum") and value == schema["maximum"])):
                self.say(path, f"must be at most {schema['maximum']}")
        if kind == "string":
            if len(value) > schema.get("maxLength", len(value)) or len(value) < schema.get("minLength", 0):
                self.say(path, "has a length outside minLength…maxLength")
            if "pattern" in schema and not re.search(schema["pattern"], value):
                self.say(path, f"does not match {schema['pattern']}")
        if kind == "array":
            if len(value) > schema.get("maxItems", len(value)) or len(value) < schema.get("minItems", 0):
                self.say(path, "has a length outside minItems…maxItems")
            for index, item in enumerate(value):
                self.value(item, schema.get("items", {}), f"{path}[{index}]")
        if kind == "object":
            properties = schema.get("properties", {})
            additional = schema.get("additionalProperties")
            for name, item in value.items():
                if name in properties:
                    self.value(item, properties[name], f"{path}.{name}")
                elif isinstance(additional, dict):
                    self.value(item, additional, f"{path}.{name}")
                elif not schema.get("x-kubernetes-preserve-unknown-fields"):
                    self.say(f"{path}.{name}", "is not pruned: the schema does not know it")
            for name in schema.get("required", []):
                if name not in value and "default" not in properties.get(name, {}):
                    self.say(path, f"lacks required {name}")


def check(documents):
    problems, versions, crds = [], 0, 0
    for document in documents:
        if not document or document.get("kind") != "CustomResourceDefinition":
            continue
        crds += 1
        name = document.get("metadata", {}).get("name", "?")
        if document.get("apiVersion") != "apiextensions.k8s.io/v1":
            problems.append(f"{name}: apiVersion must be apiextensions.k8s.io/v1")
        for version in document.get("spec", {}).get("versions", []):
            versions += 1
            schema = (version.get("schema") or {}).get("openAPIV3Schema")
            if schema is None:
                problems.append(f"{name} {version.get('name')}: schema.openAPIV3Schema is required")
                continue
            checker = Checker()
            checker.node(schema, "openAPIV3Schema", "root")
            problems += [f"{name} {version.get('name')} {problem}" for problem in checker.problems]
    return problems, versions, crds


def main(paths):
    problems, versions, crds = [], 0, 0
    for path in paths:
        with open(path) as handle:
            found, v, c = check(list(yaml.safe_load_all(handle)))
        problems += [f"{path}: {problem}" for problem in found]
        versions, crds = versions + v, crds + c
    for problem in problems:
        print(problem)
    if not problems:
        print(f"structural: {versions} versions of {crds} CRDs")
    return 1 if problems or crds == 0 else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
