/// How deep the values a template builds may nest. Swift frees a nested value recursively, and
/// prints and compares it recursively, so a loop that wraps a value in a new list (or
/// namespace) on every turn would end in a stack overflow; instead a value over
/// `maxDepth` containers deep is a limit error where it is built. The checks walk at most
/// `maxDepth` levels and are charged to a per-render budget, so they cannot be made slow either.
extension JinjaInterpreter {
    static let maxNestingDepth = 100
    static let nestingBudget = 10_000_000

    /// `v`, once it is known to nest no deeper than allowed.
    func checkedNesting(_ v: JinjaValue) throws -> JinjaValue {
        guard isContainer(v) else { return v }
        if try exceeds(v, Self.maxNestingDepth) {
            throw positioned(JinjaFailure(.limit, "a value nests more than \(Self.maxNestingDepth) lists, dicts or namespaces deep"))
        }
        return v
    }

    private func isContainer(_ v: JinjaValue) -> Bool {
        switch v { case .list, .tuple, .dict, .namespace: return true; default: return false }
    }

    /// Whether `v` holds containers more than `levels` deep (namespace reference cycles count as
    /// deep). Every item looked at is charged to the budget.
    private func exceeds(_ v: JinjaValue, _ levels: Int) throws -> Bool {
        nestingVisits += 1
        guard nestingVisits <= Self.nestingBudget else {
            throw positioned(JinjaFailure(.limit, "the template builds nested values too often"))
        }
        let children: [JinjaValue]
        switch v {
        case .list(let a), .tuple(let a): children = a
        case .dict(let d): children = d.values
        case .namespace(let n): children = n.attributes.values
        default: return false
        }
        if levels == 0 { return true }
        nestingVisits += children.count
        for c in children where isContainer(c) {
            if try exceeds(c, levels - 1) { return true }
        }
        return false
    }
}
