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
 * A slot of the native Thread that leads, through a handle, to an object whose method
 * table the DAC names "System.Threading.Thread" and which points back to that native
 * Thread is its managed object; once found, the same offset is tried first for the next
 * thread. Thread.Name is the object's _name, its only field of type System.String
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
#define MAX_MT_NAMES 512		/* method table names asked of the DAC, per process */
#define MT_NAME_LEN 64

struct native_thread {
	pid_t tid;
	CLRDATA_ADDRESS addr;
};

struct cp_dac_threads {
	void *sos;
	struct cp_target *t;
	struct native_thread *v;
	size_t n;
	CLRDATA_ADDRESS thread_mt;		/* found once */
	CLRDATA_ADDRESS string_mt;		/* the runtime's globals */
	size_t exposed_off;			/* of m_ExposedObject, once found */
	bool have_off;
	unsigned mt_names;			/* names asked so far */
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
			p[ts->n++] = (struct native_thread){ .tid = (pid_t)td.os_thread_id, .addr = th };
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

/*
 * Could @mt be a MethodTable? Its first words readable, its m_BaseSize (the second u32,
 * dotnet/runtime src/coreclr/vm/methodtable.h) an object's. The DAC must not be asked
 * about anything else: GetMethodTableName on an unmapped address throws a C++ exception
 * that nothing in the DAC catches (std::terminate, seen on .NET 10.0.12).
 */
static bool mt_plausible(struct cp_dac_threads *ts, CLRDATA_ADDRESS mt)
{
	uint32_t w[8];

	if (!mt || (mt & 7) || mt >= (1ull << 47) || cp_target_read(ts->t, mt, w, sizeof(w)) != 0)
		return false;
	return w[1] >= 12 && w[1] <= (1u << 20);
}

/* Does the DAC name method table @mt @want (ASCII)? Bounded per process: a hostile heap
 * full of near-objects costs at most MAX_MT_NAMES calls. */
static bool mt_named(struct cp_dac_threads *ts, CLRDATA_ADDRESS mt, const char *want)
{
	WCHAR buf[MT_NAME_LEN];
	unsigned needed = 0;
	size_t n = strlen(want);

	if (!mt_plausible(ts, mt) || ts->mt_names >= MAX_MT_NAMES || n >= MT_NAME_LEN)
		return false;
	ts->mt_names++;
	memset(buf, 0, sizeof(buf));
	if (FAILED(sos_get_method_table_name(ts->sos, mt, MT_NAME_LEN, buf, &needed)))
		return false;
	for (size_t i = 0; i < n; i++)
		if (buf[i] != (WCHAR)(unsigned char)want[i])
			return false;
	return buf[n] == 0;
}

static bool is_thread_mt(struct cp_dac_threads *ts, CLRDATA_ADDRESS mt)
{
	if (ts->thread_mt)
		return mt == ts->thread_mt;
	if (!mt_named(ts, mt, "System.Threading.Thread"))
		return false;
	ts->thread_mt = mt;
	return true;
}

/* The managed Thread the handle in the native Thread's slot at @off leads to, pointing
 * back at @native; 0 when that slot is not the link. */
static CLRDATA_ADDRESS exposed_at(struct cp_dac_threads *ts, CLRDATA_ADDRESS native, size_t off)
{
	uint64_t handle, obj, v;

	if (!read_ptr(ts, native + off, &handle) || !read_ptr(ts, handle, &obj))
		return 0;
	CLRDATA_ADDRESS mt = object_mt(ts, obj);
	if (!mt || (ts->thread_mt && mt != ts->thread_mt))
		return 0;
	bool back = false;
	for (size_t i = 1; i <= MANAGED_SLOTS && !back; i++)
		back = cp_target_read(ts->t, obj + 8 * i, &v, sizeof(v)) == 0 && v == native;
	return back && is_thread_mt(ts, mt) ? obj : 0;
}

static CLRDATA_ADDRESS exposed_object(struct cp_dac_threads *ts, CLRDATA_ADDRESS native)
{
	if (ts->have_off) {
		CLRDATA_ADDRESS obj = exposed_at(ts, native, ts->exposed_off);
		if (obj)
			return obj;
	}
	for (size_t off = 0; off < NATIVE_SCAN; off += 8) {
		CLRDATA_ADDRESS obj = exposed_at(ts, native, off);
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
	CLRDATA_ADDRESS native = 0;

	if (!ts || !ts->string_mt)
		return 0;
	for (size_t i = 0; i < ts->n && !native; i++)
		if (ts->v[i].tid == tid)
			native = ts->v[i].addr;
	CLRDATA_ADDRESS obj = native ? exposed_object(ts, native) : 0;
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
