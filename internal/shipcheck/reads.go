package shipcheck

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// inputName is the shape of an action input name.
var inputName = regexp.MustCompile(`^[a-z][a-z0-9]*(-[a-z0-9]+)*$`)

// InputReads scans the non-test Go files of dirs for the ways the code
// reads an action input and returns each input name with the places it is
// read (file:line):
//
//   - Values.Get("name") and v["name"] in internal/config (parsing);
//   - rt.input("name") in internal/action (the post phase reads admin-key
//     directly);
//   - "INPUT_NAME" string literals anywhere.
//
// Runtime.Values reads every config.Inputs entry generically; the names
// found here are where each value is used.
func InputReads(dirs ...string) (map[string][]string, error) {
	reads := map[string][]string{}
	fset := token.NewFileSet()
	for _, dir := range dirs {
		entries, err := os.ReadDir(dir)
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			name := e.Name()
			if e.IsDir() || !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
				continue
			}
			file := filepath.Join(dir, name)
			f, err := parser.ParseFile(fset, file, nil, 0)
			if err != nil {
				return nil, err
			}
			add := func(lit *ast.BasicLit) {
				s, err := strconv.Unquote(lit.Value)
				if err != nil {
					return
				}
				if up, ok := strings.CutPrefix(s, "INPUT_"); ok {
					s = strings.ToLower(up)
				}
				if inputName.MatchString(s) {
					pos := fset.Position(lit.Pos())
					reads[s] = append(reads[s], filepath.Base(pos.Filename)+":"+strconv.Itoa(pos.Line))
				}
			}
			ast.Inspect(f, func(n ast.Node) bool {
				switch n := n.(type) {
				case *ast.CallExpr:
					sel, ok := n.Fun.(*ast.SelectorExpr)
					if !ok || len(n.Args) != 1 || (sel.Sel.Name != "Get" && sel.Sel.Name != "input") {
						return true
					}
					if id, ok := sel.X.(*ast.Ident); !ok || (id.Name != "v" && id.Name != "rt" && id.Name != "r") {
						return true
					}
					if lit, ok := unparen(n.Args[0]).(*ast.BasicLit); ok && lit.Kind == token.STRING {
						add(lit)
					}
				case *ast.IndexExpr:
					if id, ok := n.X.(*ast.Ident); !ok || id.Name != "v" {
						return true
					}
					if lit, ok := unparen(n.Index).(*ast.BasicLit); ok && lit.Kind == token.STRING {
						add(lit)
					}
				case *ast.BasicLit:
					if n.Kind == token.STRING && strings.HasPrefix(strings.Trim(n.Value, "`\""), "INPUT_") {
						add(n)
					}
				}
				return true
			})
		}
	}
	return reads, nil
}

func unparen(e ast.Expr) ast.Expr {
	for {
		p, ok := e.(*ast.ParenExpr)
		if !ok {
			return e
		}
		e = p.X
	}
}
