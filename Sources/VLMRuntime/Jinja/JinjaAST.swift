/// The parsed template: statements (`JinjaNode`) holding expressions (`JinjaExpr`). `at` is the
/// scalar offset of the construct in the template, for error positions.
indirect enum JinjaExpr {
    case literal(JinjaValue)
    case name(String, at: Int)
    case list([JinjaExpr])
    case tuple([JinjaExpr])
    case dict([(key: JinjaExpr, value: JinjaExpr)])
    /// `x.name`, and `x.0` (an integer after the dot).
    case attribute(JinjaExpr, String, at: Int)
    case item(JinjaExpr, JinjaExpr, at: Int)
    case slice(JinjaExpr, start: JinjaExpr?, stop: JinjaExpr?, step: JinjaExpr?, at: Int)
    case call(JinjaExpr, JinjaArguments, at: Int)
    /// `x | name(args)`.
    case filter(JinjaExpr, String, JinjaArguments, at: Int)
    /// `x is [not] name args`.
    case test(JinjaExpr, String, JinjaArguments, negated: Bool, at: Int)
    /// "not", "-", "+".
    case unary(String, JinjaExpr, at: Int)
    /// + - * / // % ** ~
    case binary(String, JinjaExpr, JinjaExpr, at: Int)
    /// A comparison chain (`a < b <= c`, `x in y`, `x not in y`), as Python evaluates it.
    case compare(JinjaExpr, [(op: String, JinjaExpr)], at: Int)
    case and(JinjaExpr, JinjaExpr)
    case or(JinjaExpr, JinjaExpr)
    /// `a if cond else b`; without `else` an undefined value.
    case conditional(JinjaExpr, condition: JinjaExpr, otherwise: JinjaExpr?)
}

/// Arguments of a call, filter or test, unevaluated.
struct JinjaArguments {
    var positional: [JinjaExpr] = []
    var keyword: [(name: String, value: JinjaExpr)] = []
    /// `*args` and `**kwargs`.
    var star: JinjaExpr?
    var doubleStar: JinjaExpr?
    static let none = JinjaArguments()
}

/// What `set` and `for` assign to.
indirect enum JinjaTarget {
    case name(String)
    case tuple([JinjaTarget])
    /// `ns.attr` (a namespace's attribute).
    case attribute(String, String)
}

struct JinjaMacroDefinition {
    let name: String
    let parameters: [(name: String, defaultValue: JinjaExpr?)]
    let body: [JinjaNode]
    /// Whether the body reads `varargs` / `kwargs`; if not, extra arguments are an error.
    let takesVarargs: Bool
    let takesKwargs: Bool
}

indirect enum JinjaNode {
    case text(String)
    case output(JinjaExpr, at: Int)
    case ifBlock([(condition: JinjaExpr, body: [JinjaNode])], otherwise: [JinjaNode])
    case forBlock(target: JinjaTarget, iterable: JinjaExpr, condition: JinjaExpr?, body: [JinjaNode],
                  otherwise: [JinjaNode], at: Int)
    case set(JinjaTarget, JinjaExpr, at: Int)
    /// `{% set x %}...{% endset %}`, optionally `{% set x | filter %}`.
    case setBlock(JinjaTarget, body: [JinjaNode], filters: [(name: String, arguments: JinjaArguments)], at: Int)
    case macro(JinjaMacroDefinition)
    /// `{% filter name %}...{% endfilter %}`.
    case filterBlock(filters: [(name: String, arguments: JinjaArguments)], body: [JinjaNode], at: Int)
    /// `{% with a = 1 %}...{% endwith %}`: the names hold only inside.
    case with([(name: String, value: JinjaExpr)], body: [JinjaNode])
    /// `{% call [(params)] macro(args) %}body{% endcall %}`: the macro gets `caller`, which renders body.
    case callBlock(JinjaExpr, caller: JinjaMacroDefinition, at: Int)
    case breakLoop(at: Int)
    case continueLoop(at: Int)
}
