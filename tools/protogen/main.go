// Command protogen writes kube-core's protobuf schema (kube-core/src/protobuf/generated.rs):
// for every message of the built-in API types, its fields' numbers, JSON names and kinds, and
// the table from apiVersion and kind to message.
//
// It reads the Go types of k8s.io/api, k8s.io/apimachinery and k8s.io/apiextensions-apiserver
// at the API server's exact version (go.mod pins the versions tools/controlplane builds). Their
// struct tags are the single source both wire formats are generated from: the `protobuf` tag
// gives the field numbers and wire types of generated.proto, and the `json` tag and the Go type
// give what generated.proto leaves out but the decoder needs to give the same result as JSON:
// omitempty (a zero the JSON encoder leaves out but gogo-protobuf writes) and pointer fields
// (a zero that JSON keeps), and `inline` (a nested message whose fields JSON flattens).
//
// Usage: go run . > ../../kube-core/src/protobuf/generated.rs
//
// With `-fixtures DIR`, it instead encodes each JSON object of a built-in type in DIR
// (`name.json`) as the API server would, in protobuf (`name.pb`) and again in JSON
// (`name.pb.json`): pairs the Rust tests decode and compare.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"

	apiextv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer/json"
	"k8s.io/apimachinery/pkg/runtime/serializer/protobuf"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes/scheme"
)

// Types with a wire form of their own (a well-known message that JSON writes as a scalar).
var special = map[reflect.Type]string{
	reflect.TypeOf(metav1.Time{}):         "Time",
	reflect.TypeOf(metav1.MicroTime{}):    "MicroTime",
	reflect.TypeOf(metav1.Duration{}):     "Duration",
	reflect.TypeOf(resource.Quantity{}):   "Quantity",
	reflect.TypeOf(intstr.IntOrString{}):  "IntOrString",
	reflect.TypeOf(runtime.RawExtension{}): "Raw",
	reflect.TypeOf(metav1.FieldsV1{}):     "Raw",
	reflect.TypeOf(apiextv1.JSON{}):       "Raw",
}

// Unions JSON writes as whichever member is set: their Kind is OneOf (the first message member
// that is present, else the list member, else the bool member).
var unions = map[reflect.Type]bool{
	reflect.TypeOf(apiextv1.JSONSchemaPropsOrArray{}):       true,
	reflect.TypeOf(apiextv1.JSONSchemaPropsOrBool{}):        true,
	reflect.TypeOf(apiextv1.JSONSchemaPropsOrStringArray{}): true,
}

type field struct {
	number    int
	json      string
	kind      string
	shape     string
	omitZero  bool
	inline    bool
	managed   bool
}

type message struct {
	name   string
	typ    reflect.Type
	fields []field
}

var (
	messages = map[reflect.Type]*message{}
	problems []string
)

// protoName is the message's name in generated.proto: the Go package path with dots, then the
// type name (k8s.io.api.core.v1.Pod).
func protoName(t reflect.Type) string {
	return strings.ReplaceAll(t.PkgPath(), "/", ".") + "." + t.Name()
}

func visit(t reflect.Type) {
	if _, ok := messages[t]; ok {
		return
	}
	m := &message{name: protoName(t), typ: t}
	messages[t] = m
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("protobuf")
		if tag == "" {
			continue
		}
		parts := strings.Split(tag, ",")
		number, err := strconv.Atoi(parts[1])
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s.%s: bad protobuf tag %q", m.name, f.Name, tag))
			continue
		}
		jsonTag := f.Tag.Get("json")
		jsonName, opts, _ := strings.Cut(jsonTag, ",")
		if jsonName == "-" {
			continue
		}
		fl := field{number: number, json: jsonName, shape: "Single"}
		// encoding/json flattens an embedded struct without a name of its own, as `inline` says.
		fl.inline = strings.Contains(","+opts+",", ",inline,") || (f.Anonymous && jsonName == "")
		omitEmpty := strings.Contains(","+opts+",", ",omitempty,")
		ft := f.Type
		pointer := false
		if ft.Kind() == reflect.Pointer {
			pointer = true
			ft = ft.Elem()
		}
		switch {
		case special[ft] != "" || unions[ft]:
			fl.kind = kindOf(ft, m.name+"."+f.Name)
		case ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Uint8:
			fl.kind = "Bytes"
		case ft.Kind() == reflect.Slice:
			fl.shape = "Repeated"
			fl.kind = kindOf(ft.Elem(), m.name+"."+f.Name)
		case ft.Kind() == reflect.Map:
			fl.shape = "Map(" + kindOf(ft.Key(), m.name+"."+f.Name) + ")"
			fl.kind = kindOf(ft.Elem(), m.name+"."+f.Name)
		default:
			fl.kind = kindOf(ft, m.name+"."+f.Name)
		}
		if fl.json == "" {
			fl.json = f.Name
		}
		scalar := fl.kind == "Str" || fl.kind == "Int" || fl.kind == "Bool" || fl.kind == "Double" || fl.kind == "Bytes"
		fl.omitZero = omitEmpty && !pointer && scalar && fl.shape == "Single"
		fl.managed = t == reflect.TypeOf(metav1.ObjectMeta{}) && jsonName == "managedFields"
		m.fields = append(m.fields, fl)
	}
	sort.Slice(m.fields, func(i, j int) bool { return m.fields[i].number < m.fields[j].number })
}

// kindOf is the Rust `Kind` of a value of type t (a field, an element or a map value).
func kindOf(t reflect.Type, where string) string {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if s := special[t]; s != "" {
		return s
	}
	if unions[t] {
		visit(t)
		return "OneOf(@" + protoName(t) + "@)"
	}
	switch t.Kind() {
	case reflect.String:
		return "Str"
	case reflect.Bool:
		return "Bool"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "Int"
	case reflect.Float64, reflect.Float32:
		return "Double"
	case reflect.Struct:
		visit(t)
		return "Message(@" + protoName(t) + "@)"
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return "Bytes"
		}
		// A named list type as a map value or element: go-to-protobuf wraps it in a message
		// with `repeated items = 1`, JSON writes the list.
		if t.Elem().Kind() == reflect.String {
			return "StrList"
		}
	}
	problems = append(problems, fmt.Sprintf("%s: unsupported type %s", where, t))
	return "Unsupported"
}

func main() {
	if err := apiextv1.AddToScheme(scheme.Scheme); err != nil {
		panic(err)
	}
	metav1.AddMetaToScheme(scheme.Scheme)
	fixtures := flag.String("fixtures", "", "encode the JSON objects in this directory as protobuf")
	flag.Parse()
	if *fixtures != "" {
		if err := writeFixtures(*fixtures); err != nil {
			fmt.Fprintln(os.Stderr, "protogen:", err)
			os.Exit(1)
		}
		return
	}
	type kindEntry struct{ apiVersion, kind string; typ reflect.Type }
	var kinds []kindEntry
	for gvk, t := range scheme.Scheme.AllKnownTypes() {
		if gvk.Version == runtime.APIVersionInternal || t.Kind() != reflect.Struct {
			continue
		}
		visit(t)
		kinds = append(kinds, kindEntry{gvk.GroupVersion().String(), gvk.Kind, t})
	}
	// Watch events and the types a response may carry whatever was asked.
	for _, v := range []any{metav1.WatchEvent{}, metav1.Status{}, metav1.PartialObjectMetadata{}, metav1.PartialObjectMetadataList{}, metav1.List{}} {
		visit(reflect.TypeOf(v))
	}
	// Only messages with a wire form: types without protobuf tags at all (and none nested)
	// are left out of the table but keep their index references.
	var ms []*message
	for _, m := range messages {
		ms = append(ms, m)
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].name < ms[j].name })
	index := map[string]int{}
	for i, m := range ms {
		index[m.name] = i
	}
	sort.Slice(kinds, func(i, j int) bool {
		if kinds[i].apiVersion != kinds[j].apiVersion {
			return kinds[i].apiVersion < kinds[j].apiVersion
		}
		return kinds[i].kind < kinds[j].kind
	})
	resolve := func(kind string) string {
		for {
			start := strings.Index(kind, "@")
			if start < 0 {
				return kind
			}
			end := strings.Index(kind[start+1:], "@") + start + 1
			kind = kind[:start] + strconv.Itoa(index[kind[start+1:end]]) + kind[end+1:]
		}
	}
	if len(problems) > 0 {
		sort.Strings(problems)
		for _, p := range problems {
			fmt.Fprintln(os.Stderr, "protogen:", p)
		}
	}

	var b strings.Builder
	b.WriteString("//! The protobuf schema of the built-in API types: generated by `tools/protogen` from the Go\n")
	b.WriteString("//! types of k8s.io/api, k8s.io/apimachinery and k8s.io/apiextensions-apiserver " + version() + ". Do not edit;\n")
	b.WriteString("//! `tools/protogen/generate.sh` writes it again and `generate.sh --check` tells whether it is up to date.\n\n")
	b.WriteString("use super::schema::{Field as F, Kind::*, Message as M, Shape::*};\n\n")
	b.WriteString("/// Every message, by name.\n")
	b.WriteString("#[rustfmt::skip]\n")
	b.WriteString("pub(super) static MESSAGES: &[M] = &[\n")
	for i, m := range ms {
		fmt.Fprintf(&b, "    // %d\n    M { name: %q, fields: &[\n", i, m.name)
		for _, f := range m.fields {
			fmt.Fprintf(&b, "        F { number: %d, json: %q, kind: %s, shape: %s, omit_zero: %t, inline: %t, managed_fields: %t },\n",
				f.number, f.json, resolve(f.kind), resolve(f.shape), f.omitZero, f.inline, f.managed)
		}
		b.WriteString("    ] },\n")
	}
	b.WriteString("];\n\n")
	b.WriteString("/// The message of each apiVersion and kind, sorted.\n")
	b.WriteString("#[rustfmt::skip]\n")
	b.WriteString("pub(super) static KINDS: &[(&str, &str, u16)] = &[\n")
	for _, k := range kinds {
		fmt.Fprintf(&b, "    (%q, %q, %d),\n", k.apiVersion, k.kind, index[protoName(k.typ)])
	}
	b.WriteString("];\n\n")
	for _, name := range []string{"k8s.io.apimachinery.pkg.apis.meta.v1.WatchEvent", "k8s.io.apimachinery.pkg.apis.meta.v1.PartialObjectMetadata"} {
		short := name[strings.LastIndex(name, ".")+1:]
		fmt.Fprintf(&b, "/// The index of `%s`.\npub(super) const %s: u16 = %d;\n", name, strings.ToUpper(snake(short)), index[name])
	}
	os.Stdout.WriteString(b.String())
}

func snake(s string) string {
	var out []rune
	for i, r := range s {
		if i > 0 && r >= 'A' && r <= 'Z' {
			out = append(out, '_')
		}
		out = append(out, r)
	}
	return string(out)
}

// version is the k8s.io/api version this binary was built with.
func version() string {
	data, err := os.ReadFile("go.mod")
	if err != nil {
		return "(unknown version)"
	}
	for _, line := range strings.Split(string(data), "\n") {
		fields := strings.Fields(line)
		if len(fields) == 2 && fields[0] == "k8s.io/api" {
			return fields[1]
		}
	}
	return "(unknown version)"
}

// writeFixtures encodes each `*.json` object of a built-in type in dir as protobuf and as JSON.
func writeFixtures(dir string) error {
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return err
	}
	pb := protobuf.NewSerializer(scheme.Scheme, scheme.Scheme)
	js := json.NewSerializerWithOptions(json.DefaultMetaFactory, scheme.Scheme, scheme.Scheme, json.SerializerOptions{})
	for _, file := range files {
		if strings.HasSuffix(file, ".pb.json") {
			continue
		}
		data, err := os.ReadFile(file)
		if err != nil {
			return err
		}
		obj, _, err := js.Decode(data, nil, nil)
		if err != nil {
			continue // not a built-in type with apiVersion and kind
		}
		var p, j bytes.Buffer
		if err := pb.Encode(obj, &p); err != nil {
			return fmt.Errorf("%s: %w", file, err)
		}
		if err := js.Encode(obj, &j); err != nil {
			return fmt.Errorf("%s: %w", file, err)
		}
		base := strings.TrimSuffix(file, ".json")
		if err := os.WriteFile(base+".pb", p.Bytes(), 0o644); err != nil {
			return err
		}
		if err := os.WriteFile(base+".pb.json", j.Bytes(), 0o644); err != nil {
			return err
		}
	}
	return nil
}
