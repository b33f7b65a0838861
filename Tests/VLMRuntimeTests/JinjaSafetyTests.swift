import XCTest
import Foundation
@testable import VLMRuntime

/// Hostile templates end in a JinjaError, never a crash, a hang or unbounded memory: long
/// operator chains and deep brackets (parse depth), runaway recursion (macro depth), huge
/// strings, lists and ranges, endless loops (iterations), values nested without bound.
final class JinjaSafetyTests: XCTestCase {
    func fails(_ source: String, _ kind: JinjaError.Kind, file: StaticString = #filePath, line: UInt = #line) {
        do {
            let out = try JinjaTemplate(source).render([:])
            XCTFail("rendered \(out.utf8.count) bytes", file: file, line: line)
        } catch let e as JinjaError {
            XCTAssertEqual(e.kind, kind, "\(e)", file: file, line: line)
        } catch {
            XCTFail("\(error)", file: file, line: line)
        }
    }

    func testBoundedParsing() {
        fails("{{ 1" + String(repeating: " + 1", count: 5000) + " }}", .syntax)
        fails("{{ " + String(repeating: "(", count: 5000) + "1" + String(repeating: ")", count: 5000) + " }}", .syntax)
        fails("{{ x" + String(repeating: ".a", count: 5000) + " }}", .syntax)
        fails("{{ x" + String(repeating: " | trim", count: 5000) + " }}", .syntax)
        fails(String(repeating: "{% if true %}", count: 500) + String(repeating: "{% endif %}", count: 500), .syntax)
        fails("{{ " + String(repeating: "[", count: 100_000), .syntax)
        fails("{{ " + String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000) + " }}", .syntax)
        // Ordinary depth still parses: 100 chained additions.
        XCTAssertEqual(try JinjaTemplate("{{ 0" + String(repeating: " + 1", count: 100) + " }}").render([:]), "100")
    }

    func testBoundedRendering() {
        fails("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}", .limit)
        fails("{{ 'abc' * 1000000000000000000 }}", .limit)
        fails("{{ 'abc' * 9223372036854775807 }}", .limit)
        fails("{{ [1, 2] * 4611686018427387904 }}", .limit)
        fails("{{ range(1000000000) | length }}", .security)
        fails("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}", .limit)
        fails("{% set ns = namespace(s='x') %}{% for i in range(64) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}", .limit)
        fails("{{ 9223372036854775807 + 1 }}", .type)
        // Values wrapped in a new container on every turn of a loop stop at the nesting bound
        // (freeing, printing or comparing them would otherwise recurse off the stack).
        fails("{% set ns = namespace(x=[]) %}{% for i in range(100000) %}{% set ns.x = [ns.x] %}{% endfor %}", .limit)
        fails("{% set ns = namespace(x=[1]) %}{% for i in range(100000) %}{% set ns.x = ns.x | batch(1) %}{% endfor %}", .limit)
        fails("{% set ns = namespace(x=none) %}{% for i in range(100000) %}{% set ns.x = namespace(v=ns.x) %}{% endfor %}", .limit)
        fails("{% set ns = namespace(x=none) %}{% for i in range(100000) %}{% set n = namespace() %}{% set n.v = ns.x %}{% set ns.x = n %}{% endfor %}", .limit)
        // Building small values from a big one many times is charged to a budget, not left to run.
        fails("{% set big = range(50000) | list %}{% for i in range(1000) %}{% set x = [[big]] %}{% endfor %}", .limit)
        XCTAssertEqual(try JinjaTemplate("{% set ns = namespace(x=[]) %}{% for i in range(50) %}{% set ns.x = [ns.x] %}{% endfor %}{{ (ns.x | string)[:3] }}").render([:]), "[[[")
    }

    func testNoAccessOutside() throws {
        // No loader: include/import/extends are unknown tags; attributes of Python objects do not exist.
        fails("{% include '/etc/passwd' %}", .syntax)
        fails("{% import 'os' as os %}", .syntax)
        XCTAssertEqual(try JinjaTemplate("[{{ ''.__class__ }}{{ range.__globals__ }}{{ joiner.__code__ }}]").render([:]), "[]")
        fails("{{ ''.__class__.__mro__ }}", .undefined)
        fails("{% set l = [] %}{{ l.append(1) }}", .security)
    }

    /// A render frees what it made: a macro holds its defining scope and the scope (or a
    /// namespace in it) the macro, a cycle that leaked a template's objects on every render
    /// (found by fuzz/FuzzChatTemplate with LeakSanitizer, on the committed real templates).
    /// A namespace that holds itself is refused by the nesting bound.
    func testARenderFreesItsMacrosAndNamespaces() throws {
        let template = try JinjaTemplate("""
            {% macro m(x) %}[{{ x }}]{% endmacro %}{% set ns = namespace(f=m) %}\
            {% for i in range(2) %}{% macro inner() %}{{ i }}{% endmacro %}{% set ns.g = inner %}{% endfor %}\
            {{ m(1) }}{{ ns.f(2) }}{{ ns.g() }}
            """)
        weak var released: JinjaScope?
        var output = ""
        do {
            let scope = JinjaScope(parent: nil)
            released = scope
            output = try template.render(in: scope, now: Date(timeIntervalSince1970: 0), limits: JinjaLimits())
        }
        XCTAssertEqual(output, "[1][2]1")
        XCTAssertNil(released, "the render's top-level scope outlived it (a reference cycle)")
    }
}
