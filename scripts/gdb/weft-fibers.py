# weft-fibers.py — gdb commands for weft's fibers (docs/fibers.md, "Debugging").
#
#   (gdb) source scripts/gdb/weft-fibers.py
#   (gdb) weft-fibers RUNTIME         list the fiber tasks of a runtime (a weft_runtime *)
#   (gdb) weft-fiber-bt FIBER         backtrace of a suspended fiber (a weft_fiber * or weft_fiber)
#
# A suspended fiber's registers are on its own stack, where its last switch
# saved them; weft-fiber-bt loads them into the selected thread for the
# time of one `bt` and puts the thread's own back. It needs a live process
# (gdb cannot set registers in a core file) and weft built with debug
# information (Debug or RelWithDebInfo). A fiber that is running is on its
# thread's stack: `thread apply all bt` shows it.
import gdb

ARCH_X86_64 = "x86_64"
ARCH_AARCH64 = "aarch64"


def _arch():
    name = gdb.selected_frame().architecture().name()
    if "x86-64" in name or "x86_64" in name:
        return ARCH_X86_64
    if "aarch64" in name:
        return ARCH_AARCH64
    raise gdb.GdbError("weft-fiber-bt: unsupported architecture %s" % name)


def _u64(addr):
    return int(gdb.parse_and_eval("*(unsigned long *)%d" % addr))


def _fiber(arg):
    v = gdb.parse_and_eval(arg)
    t = v.type.strip_typedefs()
    if t.code == gdb.TYPE_CODE_PTR:
        v = v.dereference()
    if str(v.type.strip_typedefs().tag) != "weft_fiber":
        raise gdb.GdbError("%s is not a weft_fiber" % arg)
    return v


def _saved_registers(sp):
    """The registers the fiber's last switch saved at `sp` (see
    src/fiber/switch_*.c for the frame layouts)."""
    if _arch() == ARCH_X86_64:
        # mxcsr/fpucw, r15, r14, r13, r12, rbx, rbp, return address
        return {"r15": _u64(sp + 8), "r14": _u64(sp + 16), "r13": _u64(sp + 24),
                "r12": _u64(sp + 32), "rbx": _u64(sp + 40), "rbp": _u64(sp + 48),
                "rip": _u64(sp + 56), "rsp": sp + 64}
    regs = {"x%d" % (19 + i): _u64(sp + 0x40 + 8 * i) for i in range(10)}
    regs.update({"x29": _u64(sp + 0x90), "x30": _u64(sp + 0x98), "pc": _u64(sp + 0x98),
                 "sp": sp + 0xb0})
    return regs


def _state(f):
    flags = int(f["ctl"]["flags"])
    run = f["ctl"]["run"]
    if flags & 2:
        return "finished"
    if not flags & 1 or int(run) == 0:
        return "not started"
    cancelled = " (cancelled)" if flags & 4 else ""
    aw = f["ctl"]["awaiting"]
    if int(aw) == 0:
        return "running" + cancelled
    try:
        name = aw["vtable"]["name"].string()
    except gdb.error:
        name = "?"
    return "suspended on %s %s%s" % (name, aw, cancelled)


class FiberBt(gdb.Command):
    """weft-fiber-bt FIBER: backtrace of a suspended fiber (FIBER: a weft_fiber * or weft_fiber)."""

    def __init__(self):
        super().__init__("weft-fiber-bt", gdb.COMMAND_STACK)

    def invoke(self, arg, from_tty):
        f = _fiber(arg)
        run = f["ctl"]["run"]
        print("fiber %s, fn %s: %s" % (f.address, f["ctl"]["fn"], _state(f)))
        if int(run) == 0 or int(f["ctl"]["awaiting"]) == 0:
            return  # nothing saved: not started, finished, or running on a thread
        regs = _saved_registers(int(f["ctl"]["sp"]))
        gdb.execute("frame 0", to_string=True)
        old = {r: int(gdb.parse_and_eval("$" + r)) for r in regs}
        try:
            for r, v in regs.items():
                gdb.execute("set $%s = %d" % (r, v), to_string=True)
            gdb.execute("bt")
        finally:
            gdb.execute("frame 0", to_string=True)
            for r, v in old.items():
                gdb.execute("set $%s = %d" % (r, v), to_string=True)


class Fibers(gdb.Command):
    """weft-fibers RUNTIME: the fiber tasks of a runtime (RUNTIME: a weft_runtime *)."""

    def __init__(self):
        super().__init__("weft-fibers", gdb.COMMAND_DATA)

    def invoke(self, arg, from_tty):
        rt = gdb.parse_and_eval(arg)
        vt = gdb.parse_and_eval("&'fiber.c'::fiber_vtable")
        fiber_t = gdb.lookup_type("weft_fiber").pointer()
        task_t = gdb.lookup_type("weft_task")
        owned_off = next(f.bitpos // 8 for f in task_t.fields() if f.name == "owned")
        shards = rt["owned"]
        n = 0
        lo, hi = shards.type.range()
        for i in range(lo, hi + 1):
            head = shards[i]["tasks"].address     # a circular list with a sentinel
            link = head["next"]
            while int(link) != int(head):
                t = (link.cast(gdb.lookup_type("char").pointer()) - owned_off).cast(task_t.pointer())
                fut = t["future"].address.cast(gdb.lookup_type("weft_future").pointer())
                if int(fut["vtable"]) == int(vt):
                    f = t["future"].address.cast(fiber_t).dereference()
                    print("task %s  fiber %s  fn %s  %s" % (t, f.address, f["ctl"]["fn"], _state(f)))
                    n += 1
                link = link["next"]
        print("%d fiber task(s) (fibers inside other futures, such as JoinSet entries, are not listed)" % n)


FiberBt()
Fibers()
