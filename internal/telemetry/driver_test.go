package telemetry_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"reflect"
	"testing"

	"github.com/soulbox/soulbox/internal/runtime/oci"
	"github.com/soulbox/soulbox/internal/telemetry"
)

// TestDriverKeepsAbilities: every optional ability the runtime package
// defines and the OCI driver has, the timed wrapper has too. An ability
// added later without a method here would vanish behind the wrapper,
// since callers find abilities by type assertion.
func TestDriverKeepsAbilities(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "../runtime/driver.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	inner := reflect.TypeOf((*oci.Driver)(nil))
	wrapped := reflect.TypeOf(telemetry.New().Driver((*oci.Driver)(nil)))
	if wrapped == inner {
		t.Fatal("Driver returned the driver unwrapped")
	}
	checked := 0
	ast.Inspect(f, func(n ast.Node) bool {
		ts, ok := n.(*ast.TypeSpec)
		if !ok {
			return true
		}
		it, ok := ts.Type.(*ast.InterfaceType)
		if !ok {
			return false
		}
		var methods []string
		for _, fld := range it.Methods.List {
			for _, name := range fld.Names {
				methods = append(methods, name.Name)
			}
		}
		for _, m := range methods {
			if _, ok := inner.MethodByName(m); !ok {
				return false // the OCI driver lacks this ability
			}
		}
		checked++
		for _, m := range methods {
			if _, ok := wrapped.MethodByName(m); !ok {
				t.Errorf("runtime.%s: the timed driver lacks %s", ts.Name.Name, m)
			}
		}
		return false
	})
	if checked < 5 {
		t.Errorf("checked %d interfaces of runtime: the parse found too few", checked)
	}
}
