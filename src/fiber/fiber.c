/*
 * The fiber future: a task whose poll resumes a stack.
 *
 * While the fiber is suspended in weft_await, the future it waits on is
 * polled here, on the resumer's stack, with the task's context; the fiber
 * is switched to only once that future is ready. A wake-up that finds the
 * future still pending (spurious, or a budget yield) costs a poll and no
 * switch, and every leaf poll after the first runs on the worker's stack,
 * not the fiber's.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "fiber/switch.h"
#include "runtime/rt.h"
#include "task/task.h"

static const weft_future_vtable fiber_vtable;

/* The stack size a fiber gets: its own request, else its runtime's. */
static size_t stack_size_for(const weft_fiber *f, const weft_runtime *rt) {
    size_t want = f->ctl.stack_size;
    if (!want && rt) want = rt->opts.fiber_stack_size;
    if (!want) want = WEFT_FIBER_STACK_DEFAULT;
    return weft__stack_round(want);
}

/* Gives the fiber its stack and sets up its first context there, below
 * its run state. 0, -EINVAL, -ENOMEM. */
static int start(weft_fiber *f, const weft_runtime *rt) {
    size_t size = stack_size_for(f, rt);
    if (!size || !f->ctl.fn) return -EINVAL;
    weft__stack *s;
    int err = weft__stack_acquire(size, &s);
    if (err) return err;
    uintptr_t top = ((uintptr_t)s->hi - sizeof(weft__fiber_run)) & ~(uintptr_t)63;
    weft__fiber_run *r = (weft__fiber_run *)top;
    *r = (weft__fiber_run){.fiber = f, .stack = s};
    f->ctl.sp = weft__ctx_make(s->lo, r, weft__fiber_entry, r);
    san_fiber_create(r);
    f->ctl.run = r;
    f->ctl.flags |= FIBER_STARTED;
    return 0;
}

/* fn will never run: its argument goes to arg_drop. */
static void never_ran(weft_fiber *f) {
    if (f->ctl.arg_drop) f->ctl.arg_drop(f->ctl.arg);
    f->ctl.arg_drop = NULL;
}

/* After fn returned: the stack and everything on it go back. */
static void finished(weft_fiber *f) {
    weft__fiber_run *r = f->ctl.run;
    f->ctl.run = NULL;
    san_fiber_destroy(r);
    weft__stack *s = r->stack;
    san_stack_unpoison(s->lo, (size_t)((char *)s->hi - (char *)s->lo));
    weft__stack_release(s);
}

static weft_poll fiber_poll(weft_future *base, weft_context *cx) {
    weft_fiber *f = (weft_fiber *)base;
    weft__fiber_run *r = f->ctl.run;
    if (r) {
        /* Suspended in weft_await: poll what it waits for, here. With a
         * thousand fibers taking turns, the fiber's stack is out of the
         * cache by now: start loading its run state and saved context
         * while the future (also on that stack) is polled. */
        __builtin_prefetch(r);
        __builtin_prefetch(f->ctl.sp);
        if (weft_future_poll(f->ctl.awaiting, cx) == WEFT_PENDING) return WEFT_PENDING;
        f->ctl.awaiting = NULL;
    } else {
        int err = start(f, cx->runtime);
        if (err) {
            never_ran(f);
            f->output.error = err;
            return WEFT_READY;
        }
        r = f->ctl.run;
        /* From now on the fiber's thread-local addresses are this
         * thread's: its task must not move to another worker. */
        weft__task_pin_running();
    }
    r->cx = cx;
    fiber_resume(f);
    r->cx = NULL;
    if (!(f->ctl.flags & FIBER_DONE)) return WEFT_PENDING;
    finished(f);
    return WEFT_READY;
}

static void fiber_drop(weft_future *base) {
    weft_fiber *f = (weft_fiber *)base;
    if (!(f->ctl.flags & FIBER_STARTED)) {
        never_ran(f);
        return;
    }
    weft__fiber_cancel(f);
    /* Nobody takes what a cancelled fiber returned. */
    if (f->ctl.out_drop) f->ctl.out_drop(&f->output);
    finished(f);
}

static const weft_future_vtable fiber_vtable = {fiber_poll, fiber_drop, "weft_fiber"};

weft_future *weft_fiber_init(weft_fiber *f, weft_fiber_fn fn, void *arg,
                             const weft_fiber_options *opts) {
    memset(f, 0, sizeof *f);
    weft_future_init(&f->base, &fiber_vtable);
    f->ctl.fn = fn;
    f->ctl.arg = arg;
    if (opts) {
        f->ctl.stack_size = opts->stack_size;
        f->ctl.arg_drop = opts->arg_drop;
        f->ctl.out_drop = opts->out_drop;
    }
    return &f->base;
}

/* A fiber future for a spawn; or an error, in which case arg has gone to
 * arg_drop. The stack is taken when the fiber starts (with the size its
 * runtime says then): a spawned fiber that has not run yet holds none, so
 * spawning many costs no more stacks than run at once. A spawn into a
 * runtime being destroyed fails in weft_spawn_raw, which drops the
 * future: arg_drop again. */
static int prepare(weft_fiber *f, weft_fiber_fn fn, void *arg, const weft_fiber_options *opts) {
    weft_fiber_init(f, fn, arg, opts);
    if (fn && !(opts && opts->stack_size > WEFT_FIBER_STACK_MAX)) return 0;
    never_ran(f);
    return -EINVAL;
}

weft_join_handle weft_fiber_spawn(weft_runtime *rt, weft_fiber_fn fn, void *arg,
                                  const weft_fiber_options *opts) {
    weft_fiber f;
    int err = prepare(&f, fn, arg, opts);
    if (!err && !rt) {
        never_ran(&f);
        err = -EINVAL;
    }
    if (err) return weft__join_handle_failed(err);
    /* A spawn that fails now drops the future, which calls arg_drop. */
    return weft_spawn_raw(rt, &f, sizeof f, offsetof(weft_fiber, output), sizeof f.output,
                          f.ctl.out_drop);
}

weft_join_handle weft_task_tracker_spawn_fiber(weft_task_tracker *t, weft_runtime *rt,
                                               weft_fiber_fn fn, void *arg,
                                               const weft_fiber_options *opts) {
    weft_fiber f;
    int err = prepare(&f, fn, arg, opts);
    if (!err && (!rt || !t)) {
        never_ran(&f);
        err = -EINVAL;
    }
    if (err) return weft__join_handle_failed(err);
    /* The tracker counts the task until its future (the fiber) completes
     * or is dropped; a failed spawn drops it, which calls arg_drop. */
    return weft_task_tracker_spawn_raw(t, rt, &f, sizeof f, offsetof(weft_fiber, output),
                                       sizeof f.output, f.ctl.out_drop);
}

int64_t weft_join_set_spawn_fiber(weft_join_set *js, weft_fiber_fn fn, void *arg,
                                  const weft_fiber_options *opts) {
    weft_fiber f;
    int err = prepare(&f, fn, arg, opts);
    if (!err && !js) {
        never_ran(&f);
        err = -EINVAL;
    }
    if (err) return err;
    return weft_join_set_spawn_raw(js, &f, sizeof f, offsetof(weft_fiber, output),
                                   sizeof f.output);
}
