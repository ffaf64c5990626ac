"""Reads the tasks and dependencies of a generated orchestrator file by walking its Python AST.

Usage: python3 python_graph.py airflow|prefect|dagster FILE
Prints {"tasks": [...], "edges": [[from, to], ...]} with the orchestrator's own task names.
"""
import ast
import json
import sys


def keyword(call, name):
    for k in call.keywords:
        if k.arg == name and isinstance(k.value, ast.Constant):
            return k.value.value
    return None


def decorated(fn, decorator):
    for d in fn.decorator_list:
        if isinstance(d, ast.Call) and isinstance(d.func, ast.Name) and d.func.id == decorator:
            return d
    return None


def airflow(tree):
    def task_id(node):
        while isinstance(node, ast.Call):
            found = keyword(node, "task_id")
            if found is not None:
                return found
            node = node.func.value if isinstance(node.func, ast.Attribute) else None
        return None

    names, tasks, edges = {}, [], []
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            found = task_id(node.value)
            if found is not None:
                names[node.targets[0].id] = found
                tasks.append(found)

    def operands(node):
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.RShift):
            return operands(node.left) + [node.right]
        return [node]

    def ids(node):
        items = node.elts if isinstance(node, (ast.List, ast.Tuple)) else [node]
        return [names[i.id] for i in items if isinstance(i, ast.Name) and i.id in names]

    for node in ast.walk(tree):
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.BinOp) and isinstance(node.value.op, ast.RShift):
            chain = operands(node.value)
            for a, b in zip(chain, chain[1:]):
                edges += [[x, y] for x in ids(a) for y in ids(b)]
    return tasks, edges


def prefect(tree):
    tasks, fns = [], {}
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef):
            d = decorated(node, "task")
            if d is not None:
                fns[node.name] = keyword(d, "name")
                tasks.append(fns[node.name])
    futures, edges = {}, []
    body = next(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and decorated(n, "flow") is not None)
    for node in body.body:
        if not (isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)):
            continue
        value = node.value.body if isinstance(node.value, ast.IfExp) else node.value
        if not (isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute)):
            continue
        if value.func.attr not in ("submit", "map") or not isinstance(value.func.value, ast.Name):
            continue
        task = fns[value.func.value.id]
        futures[node.targets[0].id] = task
        for k in value.keywords:
            if k.arg == "wait_for":
                deps = k.value.args if isinstance(k.value, ast.Call) else k.value.elts
                edges += [[futures[d.id], task] for d in deps if isinstance(d, ast.Name)]
    return tasks, edges


def dagster(tree):
    tasks, fns = [], {}
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef):
            d = decorated(node, "op")
            if d is not None:
                fns[node.name] = keyword(d, "name")
                tasks.append(fns[node.name])
    results, edges = {}, []
    body = next(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and decorated(n, "job") is not None)

    def source(value):
        if isinstance(value, ast.Name):
            return results.get(value.id)
        if isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute) and value.func.attr == "collect":
            return source(value.func.value)
        return None

    for node in body.body:
        if not isinstance(node, ast.Assign):
            continue
        target = node.targets[0]
        targets = [t.id for t in target.elts] if isinstance(target, ast.Tuple) else [target.id]
        call, upstream = node.value, []
        if isinstance(call.func, ast.Attribute) and call.func.attr == "map":
            upstream.append(source(call.func.value))
            call = call.args[0].body
        op = fns[call.func.id]
        upstream += [source(k.value) for k in call.keywords]
        edges += [[u, op] for u in upstream if u is not None]
        for t in targets:
            results[t] = op
    return tasks, edges


if __name__ == "__main__":
    kind, path = sys.argv[1], sys.argv[2]
    with open(path) as f:
        tree = ast.parse(f.read(), path)
    tasks, edges = {"airflow": airflow, "prefect": prefect, "dagster": dagster}[kind](tree)
    print(json.dumps({"tasks": tasks, "edges": edges}))
