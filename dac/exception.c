/*
 * exception.c - see exception.h. Where the facts come from:
 *
 *  - the exception's fields: ISOSDacInterface2::GetObjectExceptionData (message, inner
 *    exception, _stackTrace, HResult); other fields (AggregateException._innerExceptions)
 *    by name, the way SOS's GetObjFieldOffset finds them (dotnet/diagnostics
 *    src/SOS/Strike/util.cpp): the FieldDescs of the method table and its parents, each
 *    named through the module's IMetaDataImport::GetFieldProps;
 *  - _stackTrace: a byte[] (.NET 8), or in .NET 9+ possibly an object[] whose element 0 is
 *    that byte[] and the rest keep-alive objects (ExceptionObject::GetStackTraceParts,
 *    dotnet/runtime src/coreclr/vm/object.cpp; the cDAC's Exception_1.cs reads the same).
 *    The byte[]'s data is a header of 16 bytes on x86_64 whose first 4 are the count
 *    (.NET 8: size_t m_size, Thread *m_thread; .NET 9+: uint32 m_size, uint32
 *    m_keepAliveItemsCount, Thread *m_thread), then StackTraceElement { ip, sp, pFunc,
 *    int flags } of 32 bytes each (src/coreclr/vm/clrex.h);
 *  - the flags (clrex.h): STEF_LAST_FRAME_FROM_FOREIGN_STACK_TRACE ends a segment, printed
 *    "--- End of stack trace from previous location ---"; STEF_IP_ADJUSTED says ip was
 *    already decremented. Otherwise ip is a return address (or the faulting instruction),
 *    and the runtime maps ip - 1 to the IL offset it prints (StackFrameInfo::InitPass2 in
 *    src/coreclr/vm/debugdebugger.cpp): we look the method up and map the IL offset there;
 *  - the segments are the ones the runtime prints: System.Diagnostics.StackTrace.ToString
 *    (src/libraries/System.Private.CoreLib/src/System/Diagnostics/StackTrace.cs) prints no
 *    "End of stack trace" line after an async state machine's MoveNext ("Skip EDI boundary
 *    for async"), so neither is a segment ended there. The runtime asks whether the
 *    compiler-generated type is an IAsyncStateMachine; we know it by the name the C#
 *    compiler gives it, Outer+<Method>d__N (generic: <Method>d__N`K).
 */
#include "config.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "clrdata.h"
#include "exception.h"
#include "target.h"
#include "wire.h"
#include "worker.h"

#define STEF_LAST_FRAME_FROM_FOREIGN_STACK_TRACE 0x1u
#define STEF_IP_ADJUSTED 0x2u
#define STACK_HEADER 16u		/* x86_64 */
#define STACK_ELEMENT 32u
#define MAX_FIELD_WALK 4096		/* FieldDescs looked at per lookup */
#define MAX_PARENTS 64			/* method tables up the hierarchy */
#define mdtFieldDef 0x04000000u

struct state {
	const struct cp_dac_exception_ctx *c;
	uint32_t sent;			/* EXCEPTION records so far */
};

/* A System.String object's text. */
static void object_string(const struct cp_dac_exception_ctx *c, CLRDATA_ADDRESS obj, char *out, size_t cap)
{
	static WCHAR buf[CP_DAC_MAX_NAME];
	unsigned needed = 0;

	out[0] = '\0';
	if (!obj || !c->sos)
		return;
	if (SUCCEEDED(sos_get_object_string_data(c->sos, obj, CP_DAC_MAX_NAME, buf, &needed)))
		cp_dac_utf16_to_utf8(buf, CP_DAC_MAX_NAME, out, cap);
}

static bool object_data(const struct cp_dac_exception_ctx *c, CLRDATA_ADDRESS obj, struct dacp_object_data *od)
{
	memset(od, 0, sizeof(*od));
	return obj && c->sos && SUCCEEDED(sos_get_object_data(c->sos, obj, od));
}

static void object_type(const struct cp_dac_exception_ctx *c, CLRDATA_ADDRESS obj, char *out, size_t cap)
{
	static WCHAR buf[CP_DAC_MAX_NAME];
	struct dacp_object_data od;
	unsigned needed = 0;

	out[0] = '\0';
	if (!object_data(c, obj, &od))
		return;
	if (SUCCEEDED(sos_get_method_table_name(c->sos, od.method_table, CP_DAC_MAX_NAME, buf, &needed)))
		cp_dac_utf16_to_utf8(buf, CP_DAC_MAX_NAME, out, cap);
}

static uint16_t instance_fields(const struct cp_dac_exception_ctx *c, CLRDATA_ADDRESS mt, CLRDATA_ADDRESS *first)
{
	struct dacp_method_table_field_data fd;

	memset(&fd, 0, sizeof(fd));
	if (!mt || FAILED(sos_get_method_table_field_data(c->sos, mt, &fd)))
		return 0;
	if (first)
		*first = fd.first_field;
	return fd.num_instance_fields;
}

static bool name_is(const WCHAR *w, uint32_t n, const char *ascii)
{
	size_t k = strlen(ascii);

	/* n counts the NUL */
	if (n == 0 || n - 1 != k)
		return false;
	for (size_t i = 0; i < k; i++)
		if (w[i] != (unsigned char)ascii[i])
			return false;
	return true;
}

/* The offset from @obj of its instance field @name (declared by its class or a parent), or
 * 0 when it has none. */
static uint32_t field_offset(const struct cp_dac_exception_ctx *c, CLRDATA_ADDRESS obj, const char *name)
{
	struct dacp_object_data od;

	if (!object_data(c, obj, &od))
		return 0;
	CLRDATA_ADDRESS mt = od.method_table;
	for (int depth = 0; mt && depth < MAX_PARENTS; depth++) {
		struct dacp_method_table_data md;
		memset(&md, 0, sizeof(md));
		if (FAILED(sos_get_method_table_data(c->sos, mt, &md)))
			return 0;
		CLRDATA_ADDRESS field = 0;
		uint16_t all = instance_fields(c, mt, &field);
		uint16_t inherited = instance_fields(c, md.parent_method_table, NULL);
		unsigned own = all > inherited ? all - inherited : 0;
		void *module = NULL, *mdi = NULL;
		if (own && SUCCEEDED(sos_get_module(c->sos, md.module, &module)) && module) {
			if (FAILED(xclr_query_interface(module, &IID_IMetaDataImport, &mdi)))
				mdi = NULL;
			xclr_release(module);
		}
		for (unsigned seen = 0, walked = 0; mdi && field && seen < own && walked < MAX_FIELD_WALK; walked++) {
			struct dacp_field_desc_data fd;
			memset(&fd, 0, sizeof(fd));
			if (FAILED(sos_get_field_desc_data(c->sos, field, &fd)))
				break;
			if (!fd.is_static) {
				WCHAR fname[256];
				uint32_t n = 0, klass = 0, attr = 0, sig_len = 0, cplus = 0, value_len = 0;
				const uint8_t *sig = NULL;
				const void *value = NULL;
				if (SUCCEEDED(mdi_get_field_props(mdi, fd.mb | mdtFieldDef, &klass, fname, 256, &n, &attr,
								  &sig, &sig_len, &cplus, &value, &value_len)) &&
				    n <= 256 && name_is(fname, n, name)) {
					xclr_release(mdi);
					return fd.offset + 8;	/* past the method table pointer */
				}
				seen++;
			}
			field = fd.next_field;
		}
		xclr_release(mdi);
		mt = md.parent_method_table;
	}
	return 0;
}

static CLRDATA_ADDRESS read_ptr(const struct cp_dac_exception_ctx *c, CLRDATA_ADDRESS addr)
{
	uint64_t v = 0;

	if (cp_target_read(c->t, addr, &v, sizeof(v)) < 0)
		return 0;
	return v;
}

/* The elements of an object array (at most @max), or 0 when @obj is not one. */
static size_t ptr_array(const struct cp_dac_exception_ctx *c, CLRDATA_ADDRESS obj, CLRDATA_ADDRESS *out, size_t max)
{
	struct dacp_object_data od;

	if (!object_data(c, obj, &od) || od.component_size != 8 || !od.array_data_ptr)
		return 0;
	size_t n = od.num_components < max ? (size_t)od.num_components : max;
	for (size_t i = 0; i < n; i++)
		out[i] = read_ptr(c, od.array_data_ptr + 8 * i);
	return n;
}

/* The method at code address @addr: name, assembly, token, IL offset of @addr. */
static bool method_at(const struct cp_dac_exception_ctx *c, uint64_t addr, CLRDATA_ADDRESS md,
		      struct cp_wire_exception_frame *f, char *name, char *assembly)
{
	CLRDATA_ENUM h = 0;
	void *mi = NULL;
	uint32_t il = CLRDATA_IL_OFFSET_NO_MAPPING;

	name[0] = assembly[0] = '\0';
	if (addr && SUCCEEDED(xclr_process_start_enum_method_instances_by_address(c->process, addr, NULL, &h))) {
		if (xclr_process_enum_method_instance_by_address(c->process, &h, &mi) != S_OK)
			mi = NULL;
		(void) xclr_process_end_enum_method_instances_by_address(c->process, h);
	}
	if (mi) {
		cp_dac_method_describe(mi, addr, name, assembly, &f->token, &il);
		xclr_release(mi);
	}
	if (!name[0] && md && c->sos) {
		/* No code found there (a stub, code since gone): the method's own name. */
		static WCHAR buf[CP_DAC_MAX_NAME];
		unsigned needed = 0;
		if (SUCCEEDED(sos_get_method_desc_name(c->sos, md, CP_DAC_MAX_NAME, buf, &needed)))
			cp_dac_utf16_to_utf8(buf, CP_DAC_MAX_NAME, name, CP_DAC_MAX_NAME);
	}
	f->il = il;
	f->has_il = il != CLRDATA_IL_OFFSET_NO_MAPPING && (int32_t)il >= 0;
	return name[0] != '\0';
}

/* Is @name ("Ns.Type+<Method>d__3.MoveNext()", as the DAC names methods) the MoveNext of an
 * async state machine the C# compiler made? */
static bool async_move_next(const char *name)
{
	const char *mn = strstr(name, ".MoveNext(");
	if (!mn)
		return false;
	const char *p = mn;
	while (p > name && p[-1] != '+')
		p--;
	if (p == name || *p != '<')
		return false;
	const char *d = strstr(p, ">d__");
	if (!d || d > mn)
		return false;
	d += 4;
	if (d == mn || *d < '0' || *d > '9')
		return false;
	while (d < mn && *d >= '0' && *d <= '9')
		d++;
	/* then nothing, or the arity and generic arguments of a generic state machine */
	return d == mn || *d == '`';
}

/* The stack trace recorded in the exception object's _stackTrace (@st). */
static void send_stack(const struct cp_dac_exception_ctx *c, uint32_t index, CLRDATA_ADDRESS st)
{
	static char name[CP_DAC_MAX_NAME], assembly[CP_DAC_MAX_NAME];
	struct dacp_object_data od;

	if (!object_data(c, st, &od))
		return;
	if (od.component_size == 8) {	/* object[]: element 0 is the byte[] */
		CLRDATA_ADDRESS first = 0;
		if (ptr_array(c, st, &first, 1) != 1 || !object_data(c, first, &od))
			return;
	}
	if (od.component_size != 1 || !od.array_data_ptr || od.num_components < STACK_HEADER)
		return;
	uint32_t count = 0;
	if (cp_target_read(c->t, od.array_data_ptr, &count, sizeof(count)) < 0)
		return;
	uint64_t fits = (od.num_components - STACK_HEADER) / STACK_ELEMENT;
	size_t n = count < fits ? count : (size_t)fits;
	if (n > c->max_frames)
		n = c->max_frames;
	uint32_t segment = 0;
	for (size_t i = 0; i < n; i++) {
		uint8_t el[STACK_ELEMENT];
		if (cp_target_read(c->t, od.array_data_ptr + STACK_HEADER + (uint64_t)i * STACK_ELEMENT, el,
				   sizeof(el)) < 0)
			break;
		uint64_t ip, sp, md;
		uint32_t flags;
		memcpy(&ip, el, 8);
		memcpy(&sp, el + 8, 8);
		memcpy(&md, el + 16, 8);
		memcpy(&flags, el + 24, 4);
		/* ip as the object recorded it (ClrMD's ClrException.StackTrace gives the same);
		 * the method and IL offset at the address the runtime maps. */
		uint64_t addr = (flags & STEF_IP_ADJUSTED) || ip == 0 ? ip : ip - 1;
		struct cp_wire_exception_frame f = { .ip = ip, .sp = sp, .segment = segment };
		(void) method_at(c, addr, md, &f, name, assembly);
		f.name = name;
		f.assembly = assembly;
		if (cp_wire_put_exception_frame(c->out, index, &f) < 0)
			return;
		if ((flags & STEF_LAST_FRAME_FROM_FOREIGN_STACK_TRACE) && !async_move_next(name))
			segment++;
	}
}

/* AggregateException's inner exceptions: _innerExceptions, an Exception[] (or, in older
 * runtimes, a ReadOnlyCollection<Exception> whose `list` is one). */
static size_t aggregate_inners(const struct cp_dac_exception_ctx *c, CLRDATA_ADDRESS obj, CLRDATA_ADDRESS *out)
{
	uint32_t off = field_offset(c, obj, "_innerExceptions");
	if (!off)
		return 0;
	CLRDATA_ADDRESS v = read_ptr(c, obj + off);
	size_t n = ptr_array(c, v, out, CP_DAC_MAX_AGGREGATE);
	if (n == 0 && v) {
		uint32_t loff = field_offset(c, v, "list");
		if (loff)
			n = ptr_array(c, read_ptr(c, v + loff), out, CP_DAC_MAX_AGGREGATE);
	}
	return n;
}

static void send_one(struct state *s, CLRDATA_ADDRESS obj, uint32_t parent, uint32_t depth)
{
	const struct cp_dac_exception_ctx *c = s->c;
	static char type[CP_DAC_MAX_NAME], msg[CP_DAC_MAX_NAME * 2];
	struct dacp_exception_object_data ed;

	if (!obj || s->sent >= CP_WIRE_MAX_EXCEPTIONS || depth >= CP_WIRE_MAX_EXCEPTION_DEPTH)
		return;
	memset(&ed, 0, sizeof(ed));
	bool have = c->sos2 && SUCCEEDED(sos2_get_object_exception_data(c->sos2, obj, &ed));
	object_type(c, obj, type, sizeof(type));
	object_string(c, have ? ed.message : 0, msg, sizeof(msg));
	uint32_t index = s->sent;
	if (cp_wire_put_exception(c->out, parent, have ? (uint32_t)ed.hresult : 0u, type, msg) < 0)
		return;
	s->sent++;
	if (!have)
		return;
	send_stack(c, index, ed.stack_trace);

	/* Fields are found through the module's metadata, which a small dump (createdump's
	 * mini and triage types) may lack: the DAC then throws a C++ exception it does not
	 * catch, and its process dies. Only an AggregateException is asked. */
	CLRDATA_ADDRESS inners[CP_DAC_MAX_AGGREGATE];
	size_t n = strcmp(type, "System.AggregateException") == 0 ? aggregate_inners(c, obj, inners) : 0;
	if (n == 0 && ed.inner_exception) {
		inners[0] = ed.inner_exception;
		n = 1;
	}
	for (size_t i = 0; i < n; i++)
		send_one(s, inners[i], index, depth + 1);
}

void cp_dac_exception_send(const struct cp_dac_exception_ctx *c, uint64_t obj)
{
	struct state s = { .c = c };

	send_one(&s, obj, CP_WIRE_NO_PARENT, 0);
}
