"""Dumps one API version's message definitions and methods, as the installed gcloud ships them.

gcloud's generated clients (googlecloudsdk/generated_clients/apis/API/VERSION) are generated from
the API's discovery document: one Python class per schema, one method config per REST method. This
prints them as JSON for scripts/refresh-schemas.ts:
  {"messages": {Name: {"fields": {jsonName: {...}}, "map": valueField?}},
   "enums": {Name: [values]}, "methods": {id: {...}}}
Usage: python3 apitools-dump.py API VERSION   (with gcloud's bundled python)
"""
import importlib
import json
import re
import sys

SDK = '/usr/lib/google-cloud-sdk/lib'
sys.path.insert(0, SDK)
sys.path.insert(0, SDK + '/third_party')

from apitools.base.protorpclite import message_types  # noqa: E402
from apitools.base.protorpclite import messages  # noqa: E402
from apitools.base.py import encoding_helper as encoding  # noqa: E402
from apitools.base.py import extra_types  # noqa: E402

api, version = sys.argv[1], sys.argv[2]
base = 'googlecloudsdk.generated_clients.apis.%s.%s' % (api, version)
mod = importlib.import_module('%s.%s_%s_messages' % (base, api, version))
client_mod = importlib.import_module('%s.%s_%s_client' % (base, api, version))

VARIANTS = {
    messages.Variant.INT32: 'int32', messages.Variant.INT64: 'int64',
    messages.Variant.UINT32: 'uint32', messages.Variant.UINT64: 'uint64',
    messages.Variant.SINT32: 'int32', messages.Variant.SINT64: 'int64',
    messages.Variant.DOUBLE: 'double', messages.Variant.FLOAT: 'float',
    messages.Variant.BOOL: 'bool', messages.Variant.STRING: 'string',
    messages.Variant.BYTES: 'bytes',
}

out = {'messages': {}, 'enums': {}, 'methods': {}}


def qualified(cls):
    return cls.definition_name().split('.', 1)[-1] if '.' in cls.definition_name() else cls.__name__


def output_only(cls):
    """Field names whose docstring entry starts with 'Output only.' (the discovery description)."""
    doc = cls.__doc__ or ''
    found = set()
    for m in re.finditer(r'^    (\w+): (?:\[Output Only\]|Output only\.|\(Output only\)|Output Only\.)', doc, re.M):
        found.add(m.group(1))
    return found


def json_name(cls, field):
    return encoding.GetCustomJsonFieldMapping(cls, python_name=field.name) or field.name


def describe(cls):
    name = qualified(cls)
    if name in out['messages']:
        return name
    entry = {'fields': {}}
    out['messages'][name] = entry
    unrecognized = encoding._UNRECOGNIZED_FIELD_MAPPINGS.get(cls)  # a JSON object of KEY: VALUE
    outputs = output_only(cls)
    for field in cls.all_fields():
        f = {}
        if isinstance(field, message_types.DateTimeField):
            # Storage's generated messages type RFC 3339 times as datetimes, unlike most APIs'.
            f['type'] = 'timestamp'
        elif isinstance(field, messages.MessageField):
            t = field.type
            if t is extra_types.JsonValue or t is extra_types.JsonObject:
                f['type'] = 'any'
            elif t is extra_types.DateTimeMessage if hasattr(extra_types, 'DateTimeMessage') else False:
                f['type'] = 'string'
            else:
                f['type'] = 'message'
                f['ref'] = describe(t)
        elif isinstance(field, messages.EnumField):
            f['type'] = 'enum'
            f['ref'] = describe_enum(field.type)
        else:
            f['type'] = VARIANTS.get(field.variant, 'string')
        if field.repeated:
            f['repeated'] = True
        if field.name in outputs:
            f['outputOnly'] = True
        entry['fields'][json_name(cls, field)] = f
    if unrecognized:
        value = entry['fields'].pop(unrecognized)
        item = out['messages'][value['ref']]['fields']['value']
        entry['map'] = item
        entry['fields'] = {}
    return name


def describe_enum(cls):
    name = qualified(cls)
    out['enums'][name] = [v.name for v in sorted(cls, key=lambda v: v.number)]
    return name


for attr in dir(mod):
    c = getattr(mod, attr)
    if isinstance(c, type) and issubclass(c, messages.Message) and c.__module__ == mod.__name__:
        describe(c)

client_cls = [c for c in vars(client_mod).values() if isinstance(c, type) and hasattr(c, 'BASE_URL')][0]
for service_name in dir(client_cls):
    service = getattr(client_cls, service_name)
    if not (isinstance(service, type) and hasattr(service, '_NAME')):
        continue
    for method_name in dir(service):
        method = getattr(service, method_name)
        config = getattr(method, 'method_config', None)
        if config is None:
            continue
        info = config()
        request_cls = getattr(mod, info.request_type_name, None)
        def query_name(python_name):
            mapped = request_cls and encoding.GetCustomJsonFieldMapping(request_cls, python_name=python_name)
            return mapped or python_name
        # gcloud wraps a whole-body request ("body": "*") in a field named after its type.
        body, body_message = info.request_field or None, None
        if body == '<request>' and request_cls is not None:
            # The request message is itself the body (IAM v1's serviceAccounts.update, for one).
            body, body_message = '*', qualified(request_cls)
        elif body and request_cls is not None:
            wrapped = request_cls.field_by_name(body)
            if isinstance(wrapped, messages.MessageField):
                type_name = wrapped.type.__name__
                if type_name.endswith('Request') and body == type_name[0].lower() + type_name[1:]:
                    body, body_message = '*', qualified(wrapped.type)
        out['methods'][info.method_id] = {
            'httpMethod': info.http_method,
            'path': info.flat_path or info.relative_path,
            'request': info.request_type_name,
            'response': info.response_type_name,
            'body': body,
            'bodyMessage': body_message,
            'pathParams': list(info.path_params),
            'queryParams': [query_name(q) for q in info.query_params],
        }

json.dump(out, sys.stdout, indent=None, sort_keys=True)
