#!/usr/bin/env python3
"""check_core.py CORE [--files] [--lint-cmd TARGET]

Checks a FuseSoC CAPI2 core file without FuseSoC (not packaged for Debian;
this machine has no PyPI): the "CAPI=2:" first line, the YAML, the subset of
the CAPI2 schema the file uses (top-level keys, VLNV name, filesets and their
file attributes, targets, parameters with datatype / paramtype) and the
cross-references (a target's filesets and parameters exist, int parameter
values are integers, files exist under the core's directory, no absolute or
../ paths).  For tern it also checks that the filesets list every .sv and .vh
file of the core's directory (rtl/) and nothing else.

  --files            print the source files (not the include files), in order,
                     relative to the core's directory, one per line
  --lint-cmd TARGET  print the verilator command of TARGET (a verilator
                     lint-only target) one argument per line, as FuseSoC's
                     Edalize backend builds it: --lint-only, the tool's
                     verilator_options, +incdir+ of the include files'
                     directory, the source files, --top-module and -G for
                     every parameter with a value (paths absolute)

Exit 0 ok, 1 a problem (printed as FILE: key.path: message), 77 PyYAML
missing (apt-get install python3-yaml).
"""
import os
import re
import sys

try:
    import yaml
except ImportError:
    print("check_core: the python3 yaml module is missing (apt-get install python3-yaml)",
          file=sys.stderr)
    sys.exit(77)

TOP_KEYS = {"name", "description", "license", "filesets", "generate", "generators",
            "parameters", "provider", "scripts", "targets", "vpi", "virtual", "mapping"}
FILESET_KEYS = {"file_type", "logical_name", "tags", "files", "files_append", "depend",
                "depend_append"}
FILE_ATTRS = {"define", "is_include_file", "include_path", "file_type", "logical_name", "tags",
              "copyto"}
TARGET_KEYS = {"default_tool", "description", "flow", "flow_options", "hooks", "tools",
               "toplevel", "flags", "filesets", "filesets_append", "filters", "filters_append",
               "generate", "generate_append", "parameters", "parameters_append", "vpi",
               "vpi_append"}
PARAM_KEYS = {"datatype", "default", "description", "paramtype", "scope"}
DATATYPES = {"bool", "file", "int", "real", "str"}
PARAMTYPES = {"cmdlinearg", "generic", "plusarg", "vlogdefine", "vlogparam"}
VERILATOR_MODES = {"cc", "sc", "lint-only", "binary"}


class Bad(Exception):
    pass


def need(cond, where, msg):
    if not cond:
        raise Bad("%s: %s" % (where, msg))


def str_list(v, where):
    need(isinstance(v, list) and all(isinstance(x, str) for x in v), where,
         "expected a list of strings, got %r" % (v,))
    return v


def check(path):
    root = os.path.dirname(os.path.abspath(path))
    with open(path, encoding="utf-8") as f:
        text = f.read()
    need(text.split("\n", 1)[0] == "CAPI=2:", "line 1", "expected exactly 'CAPI=2:'")
    try:
        core = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise Bad("YAML: %s" % e)
    need(isinstance(core, dict), "top level", "expected a mapping")
    core.pop("CAPI=2", None)  # the first line parses as a key with no value
    for k in core:
        need(k in TOP_KEYS, k, "unknown top-level key (CAPI2 allows %s)" % ", ".join(sorted(TOP_KEYS)))
    name = core.get("name")
    need(isinstance(name, str) and re.fullmatch(r"[^:\s]*:[^:\s]*:[^:\s]+:[0-9][^:\s]*", name),
         "name", "expected a VLNV 'vendor:library:name:version', got %r" % (name,))

    # parameters
    params = core.get("parameters", {}) or {}
    need(isinstance(params, dict), "parameters", "expected a mapping")
    for p, d in params.items():
        w = "parameters.%s" % p
        need(isinstance(d, dict), w, "expected a mapping")
        for k in d:
            need(k in PARAM_KEYS, "%s.%s" % (w, k), "unknown key (allowed: %s)" % ", ".join(sorted(PARAM_KEYS)))
        need(d.get("datatype") in DATATYPES, w + ".datatype",
             "expected one of %s, got %r" % (", ".join(sorted(DATATYPES)), d.get("datatype")))
        need(d.get("paramtype") in PARAMTYPES, w + ".paramtype",
             "expected one of %s, got %r" % (", ".join(sorted(PARAMTYPES)), d.get("paramtype")))
        if "default" in d and d["datatype"] == "int":
            need(isinstance(d["default"], int) and not isinstance(d["default"], bool),
                 w + ".default", "expected an integer, got %r" % (d["default"],))

    # filesets
    filesets = core.get("filesets", {}) or {}
    need(isinstance(filesets, dict) and filesets, "filesets", "expected a non-empty mapping")
    srcs, incs = {}, {}
    for fs, d in filesets.items():
        w = "filesets.%s" % fs
        need(isinstance(d, dict), w, "expected a mapping")
        for k in d:
            need(k in FILESET_KEYS, "%s.%s" % (w, k), "unknown key (allowed: %s)" % ", ".join(sorted(FILESET_KEYS)))
        files = d.get("files", [])
        need(isinstance(files, list) and files, w + ".files", "expected a non-empty list")
        srcs[fs], incs[fs] = [], []
        for i, it in enumerate(files):
            wi = "%s.files[%d]" % (w, i)
            attrs = {}
            if isinstance(it, dict):
                need(len(it) == 1, wi, "expected one file name with its attributes")
                fn, attrs = next(iter(it.items()))
                need(isinstance(attrs, dict), wi, "attributes: expected a mapping")
                for k in attrs:
                    need(k in FILE_ATTRS, "%s.%s" % (wi, k), "unknown file attribute (allowed: %s)" % ", ".join(sorted(FILE_ATTRS)))
            else:
                fn = it
            need(isinstance(fn, str) and fn, wi, "expected a file name")
            need(not os.path.isabs(fn) and not fn.startswith("../"), wi,
                 "'%s': paths must be relative to the core's directory, below it" % fn)
            need(os.path.isfile(os.path.join(root, fn)), wi, "'%s': no such file in %s" % (fn, root))
            ft = attrs.get("file_type", d.get("file_type"))
            need(isinstance(ft, str) and ft, wi, "'%s' has no file_type (fileset or file)" % fn)
            (incs if attrs.get("is_include_file") else srcs)[fs].append(fn)

    # targets
    targets = core.get("targets", {}) or {}
    need(isinstance(targets, dict) and "default" in targets, "targets",
         "expected a mapping with a 'default' target")
    for t, d in targets.items():
        w = "targets.%s" % t
        need(isinstance(d, dict), w, "expected a mapping")
        for k in d:
            need(k in TARGET_KEYS, "%s.%s" % (w, k), "unknown key (allowed: %s)" % ", ".join(sorted(TARGET_KEYS)))
        for fs in str_list(d.get("filesets", []), w + ".filesets"):
            need(fs in filesets, w + ".filesets", "'%s' is not a fileset" % fs)
        top = d.get("toplevel")
        need(isinstance(top, str) and top, w + ".toplevel", "expected a module name")
        for pv in str_list(d.get("parameters", []), w + ".parameters"):
            p, _, v = pv.partition("=")
            need(p in params, w + ".parameters", "'%s' is not a parameter" % p)
            if v and params[p]["datatype"] == "int":
                need(re.fullmatch(r"-?[0-9]+", v), w + ".parameters", "%s=%s: expected an integer" % (p, v))
        tools = d.get("tools", {})
        need(isinstance(tools, dict) and all(isinstance(o, dict) for o in tools.values()),
             w + ".tools", "expected a mapping of tool name to options")
        if "default_tool" in d:
            need(d["default_tool"] in tools or not tools, w + ".default_tool",
                 "'%s' has no options under tools" % d["default_tool"])
        ver = tools.get("verilator")
        if ver is not None:
            need(ver.get("mode", "cc") in VERILATOR_MODES, w + ".tools.verilator.mode",
                 "expected one of %s" % ", ".join(sorted(VERILATOR_MODES)))
            str_list(ver.get("verilator_options", []), w + ".tools.verilator.verilator_options")

    # tern: the filesets list exactly the core directory's .sv and .vh files
    all_src = [f for fs in srcs.values() for f in fs]
    all_inc = [f for fs in incs.values() for f in fs]
    on_disk_sv = sorted(f for f in os.listdir(root) if f.endswith(".sv"))
    on_disk_vh = sorted(f for f in os.listdir(root) if f.endswith(".vh"))
    need(sorted(all_src) == on_disk_sv, "filesets",
         "source files %s differ from the .sv files of %s: %s" % (sorted(all_src), root, on_disk_sv))
    need(sorted(all_inc) == on_disk_vh, "filesets",
         "include files %s differ from the .vh files of %s: %s" % (sorted(all_inc), root, on_disk_vh))
    return core, root, srcs, incs, params


def lint_cmd(core, root, srcs, incs, params, target):
    t = core["targets"].get(target)
    need(t is not None, "targets", "no target '%s'" % target)
    ver = (t.get("tools") or {}).get("verilator")
    need(ver is not None and ver.get("mode") == "lint-only", "targets.%s" % target,
         "not a verilator lint-only target")
    cmd = ["verilator", "--lint-only"] + list(ver.get("verilator_options", []))
    dirs = []
    for fs in t["filesets"]:
        for f in incs[fs]:
            d = os.path.dirname(os.path.join(root, f))
            if d not in dirs:
                dirs.append(d)
    cmd += ["+incdir+" + d for d in dirs]
    cmd += [os.path.join(root, f) for fs in t["filesets"] for f in srcs[fs]]
    cmd += ["--top-module", t["toplevel"]]
    for pv in t.get("parameters", []):
        p, _, v = pv.partition("=")
        if not v and "default" in params[p]:
            v = str(params[p]["default"])
        if v and params[p]["paramtype"] == "vlogparam":
            cmd.append("-G%s=%s" % (p, v))
    return cmd


def main(argv):
    if len(argv) < 2 or argv[1] in ("-h", "--help"):
        print(__doc__)
        return 0 if len(argv) >= 2 else 1
    path = argv[1]
    try:
        core, root, srcs, incs, params = check(path)
        if len(argv) > 2 and argv[2] == "--files":
            for fs in srcs.values():
                for f in fs:
                    print(f)
        elif len(argv) > 3 and argv[2] == "--lint-cmd":
            print("\n".join(lint_cmd(core, root, srcs, incs, params, argv[3])))
        elif len(argv) > 2:
            raise Bad("arguments: expected --files or --lint-cmd TARGET, got %s" % " ".join(argv[2:]))
        else:
            print("check_core: %s: CAPI2 ok: %s, %d fileset(s), targets %s, %d parameters" %
                  (path, core["name"], len(core["filesets"]), ", ".join(core["targets"]),
                   len(params)))
    except Bad as e:
        print("check_core: %s: %s" % (path, e), file=sys.stderr)
        return 1
    except OSError as e:
        print("check_core: %s: %s" % (path, e), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
