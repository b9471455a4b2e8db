/*
 * threads.c - see threads.h.
 *
 * The DAC has no call for a thread's managed object: IXCLRDataTask::GetManagedObject and
 * IXCLRDataTask::GetName are E_NOTIMPL (dotnet/runtime src/coreclr/debug/daccess/task.cpp),
 * and DacpThreadData (ISOSDacInterface::GetThreadData) has no field for it. The link is in
 * the runtime's own data, both ways, and that is what we follow:
 *   - the native Thread holds m_ExposedObject, a handle (a pointer to a slot that holds the
 *     managed Thread object) at an offset that changes between runtime versions;
 *   - the managed System.Threading.Thread holds _DONT_USE_InternalThread, the native
 *     Thread's address (Thread.CoreCLR.cs).
 * and _managedThreadId, the managed thread id, which is the native Thread's m_ThreadId
 * (DacpThreadData.corThreadId; Thread.ManagedThreadId is read from it).
 * A slot of the native Thread that leads, through a handle, to an object that points back
 * to that native Thread and holds its managed thread id is its managed object; the
 * objects of all threads must share one method table, and once found, the same offset is
 * tried first for the next thread. The DAC itself is asked nothing about these objects:
 * GetMethodTableName and GetObjectStringData throw C++ exceptions past the DAC's own
 * handlers on memory they do not expect (std::terminate, seen on .NET 10.0.12 with a
 * triage dump and on live processes), which would end the DAC's process. Thread.Name is the object's _name, its only field of type System.String
 * (Thread.CoreCLR.cs: _executionContext, _synchronizationContext, _name, _startHelper,
 * _DONT_USE_InternalThread, and value fields): the slot that points at an object of the
 * runtime's String method table (ISOSDacInterface::GetUsefulGlobals).
 *
 * The memory is the crashed process's: every count is bounded, every read may fail, and a
 * wrong answer costs a name in the report, nothing else (the parent checks the UTF-8).
 */
#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "clrdata.h"
#include "target.h"
#include "threads.h"

#define MAX_THREADS 100000		/* the thread store's list, as worker.c walks it */
#define NATIVE_SCAN 0x1000		/* bytes of the native Thread searched for the handle */
#define MANAGED_SLOTS 16		/* pointer-sized slots of the managed Thread searched */

struct native_thread {
	pid_t tid;
	uint32_t managed_id;		/* DacpThreadData.corThreadId */
	CLRDATA_ADDRESS addr;
};

struct cp_dac_threads {
	void *sos;
	struct cp_target *t;
	struct native_thread *v;
	size_t n;
	CLRDATA_ADDRESS thread_mt;		/* the first managed Thread's */
	CLRDATA_ADDRESS string_mt;		/* the runtime's globals */
	size_t exposed_off;			/* of m_ExposedObject, once found */
	bool have_off;
	bool layout_chosen;			/* choose_layout() ran */
};

struct cp_dac_threads *cp_dac_threads_create(void *sos, struct cp_target *t)
{
	struct dacp_thread_store_data store;

	if (!sos)
		return NULL;
	memset(&store, 0, sizeof(store));
	if (FAILED(sos_get_thread_store_data(sos, &store)))
		return NULL;
	struct cp_dac_threads *ts = calloc(1, sizeof(*ts));
	if (!ts)
		return NULL;
	ts->sos = sos;
	ts->t = t;
	/* The String method table from the runtime's globals: no name asked of the DAC for
	 * the fields that are not strings (a triage dump has too little of their types for
	 * the DAC to name them without throwing). */
	struct dacp_useful_globals_data g;
	memset(&g, 0, sizeof(g));
	if (SUCCEEDED(sos_get_useful_globals(sos, &g)))
		ts->string_mt = g.string_mt;
	CLRDATA_ADDRESS th = store.first_thread;
	for (size_t i = 0; th && i < MAX_THREADS; i++) {
		struct dacp_thread_data td;
		memset(&td, 0, sizeof(td));
		if (FAILED(sos_get_thread_data(sos, th, &td)))
			break;
		if (td.os_thread_id) {
			struct native_thread *p = realloc(ts->v, (ts->n + 1) * sizeof(*p));
			if (!p)
				break;
			ts->v = p;
			p[ts->n++] = (struct native_thread){ .tid = (pid_t)td.os_thread_id,
							     .managed_id = td.cor_thread_id, .addr = th };
		}
		th = td.next_thread;
	}
	return ts;
}

void cp_dac_threads_destroy(struct cp_dac_threads *ts)
{
	if (!ts)
		return;
	free(ts->v);
	free(ts);
}

static bool read_ptr(struct cp_dac_threads *ts, uint64_t addr, uint64_t *v)
{
	*v = 0;
	if (!addr || (addr & 7) || addr >= (1ull << 47))
		return false;
	return cp_target_read(ts->t, addr, v, sizeof(*v)) == 0 && *v != 0;
}

/* The method table of the object at @obj (the GC's mark bits cleared), or 0. */
static CLRDATA_ADDRESS object_mt(struct cp_dac_threads *ts, CLRDATA_ADDRESS obj)
{
	uint64_t mt;
	if (!read_ptr(ts, obj, &mt))
		return 0;
	mt &= ~(uint64_t)7;
	return mt;
}

/* The managed Thread the handle in the native Thread's slot at @off leads to: it points
 * back at @nt and holds its managed thread id; 0 when that slot is not the link. */
static CLRDATA_ADDRESS exposed_at(struct cp_dac_threads *ts, const struct native_thread *nt, size_t off)
{
	uint64_t handle, obj, slots[MANAGED_SLOTS];

	if (!read_ptr(ts, nt->addr + off, &handle) || !read_ptr(ts, handle, &obj))
		return 0;
	CLRDATA_ADDRESS mt = object_mt(ts, obj);
	if (!mt || mt == ts->string_mt || (ts->thread_mt && mt != ts->thread_mt))
		return 0;
	if (cp_target_read(ts->t, obj + 8, slots, sizeof(slots)) != 0)
		return 0;
	bool back = false, id = false;
	for (size_t i = 0; i < MANAGED_SLOTS; i++) {
		uint32_t lo = (uint32_t)slots[i], hi = (uint32_t)(slots[i] >> 32);
		back = back || slots[i] == nt->addr;
		id = id || lo == nt->managed_id || hi == nt->managed_id;
	}
	if (!back || !id)
		return 0;
	ts->thread_mt = mt;
	return obj;
}

/* The first slot of @nt's native Thread that leads to a managed object pointing back, and
 * that object's method table; false when none does. */
static bool first_link(struct cp_dac_threads *ts, const struct native_thread *nt, size_t *off_ret, CLRDATA_ADDRESS *mt_ret)
{
	for (size_t off = 0; off < NATIVE_SCAN; off += 8) {
		CLRDATA_ADDRESS obj = exposed_at(ts, nt, off);
		if (obj) {
			*off_ret = off;
			*mt_ret = ts->thread_mt;
			ts->thread_mt = 0;
			return true;
		}
	}
	return false;
}

/*
 * The layout, chosen by a vote of up to LAYOUT_VOTERS threads: the (offset, method table)
 * that most of them lead to. One thread alone can mislead: a slot before m_ExposedObject
 * that leads to another object pointing back at its Thread and holding a word equal to a
 * small managed thread id (the main thread's is 1) would make every other thread's real
 * object look like the wrong type, and cost every name (seen in .NET 9 dumps of a live
 * process, where the main thread comes first and has no name to show it was wrong).
 */
#define LAYOUT_VOTERS 8

static void choose_layout(struct cp_dac_threads *ts)
{
	struct { size_t off; CLRDATA_ADDRESS mt; unsigned votes; } c[LAYOUT_VOTERS];
	size_t nc = 0, voters = 0;

	for (size_t i = 0; i < ts->n && voters < LAYOUT_VOTERS; i++) {
		size_t off;
		CLRDATA_ADDRESS mt;
		if (!ts->v[i].managed_id || !first_link(ts, &ts->v[i], &off, &mt))
			continue;
		voters++;
		size_t k = 0;
		while (k < nc && (c[k].off != off || c[k].mt != mt))
			k++;
		if (k == nc)
			c[nc++] = (typeof(c[0])){ off, mt, 0 };
		c[k].votes++;
	}
	size_t best = 0;
	for (size_t k = 1; k < nc; k++)
		if (c[k].votes > c[best].votes)
			best = k;
	if (nc > 0) {
		ts->exposed_off = c[best].off;
		ts->have_off = true;
		ts->thread_mt = c[best].mt;
	}
	ts->layout_chosen = true;
}

static CLRDATA_ADDRESS exposed_object(struct cp_dac_threads *ts, const struct native_thread *nt)
{
	if (!ts->layout_chosen)
		choose_layout(ts);
	if (ts->have_off) {
		CLRDATA_ADDRESS obj = exposed_at(ts, nt, ts->exposed_off);
		if (obj)
			return obj;
	}
	for (size_t off = 0; off < NATIVE_SCAN; off += 8) {
		CLRDATA_ADDRESS obj = exposed_at(ts, nt, off);
		if (obj) {
			ts->exposed_off = off;
			ts->have_off = true;
			return obj;
		}
	}
	return 0;
}

static CLRDATA_ADDRESS name_object(struct cp_dac_threads *ts, pid_t tid)
{
	const struct native_thread *nt = NULL;

	if (!ts || !ts->string_mt)
		return 0;
	for (size_t i = 0; i < ts->n && !nt; i++)
		if (ts->v[i].tid == tid && ts->v[i].managed_id)
			nt = &ts->v[i];
	CLRDATA_ADDRESS obj = nt ? exposed_object(ts, nt) : 0;
	if (!obj)
		return 0;
	/* The one field that holds a System.String. */
	for (size_t i = 1; i <= MANAGED_SLOTS; i++) {
		uint64_t ref;
		if (cp_target_read(ts->t, obj + 8 * i, &ref, sizeof(ref)) != 0 || !ref || (ref & 7))
			continue;
		if (object_mt(ts, ref) == ts->string_mt)
			return ref;
	}
	return 0;
}

/*
 * The String's characters, read here rather than by the DAC (GetObjectStringData throws
 * past its own handlers on a triage dump, as GetMethodTableName does): a StringObject is
 * its method table, an int32 length and that many UTF-16 units (dotnet/runtime
 * src/coreclr/vm/object.h, StringObject: m_StringLength, m_FirstChar).
 */
size_t cp_dac_thread_name(struct cp_dac_threads *ts, pid_t tid, WCHAR *buf, size_t cap)
{
	CLRDATA_ADDRESS s = name_object(ts, tid);
	int32_t len;

	if (!s || cap == 0 || cp_target_read(ts->t, s + 8, &len, sizeof(len)) != 0 || len <= 0)
		return 0;
	size_t n = (size_t)len < cap ? (size_t)len : cap;
	if (cp_target_read(ts->t, s + 12, buf, n * sizeof(*buf)) != 0)
		return 0;
	return n;
}
