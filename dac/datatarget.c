/*
 * datatarget.c - see datatarget.h. A COM object in C: a struct whose first member points
 * at its vtable. ICLRRuntimeLocator is a second sub-object with its own vtable, because its
 * slot 3 (GetRuntimeBase) collides with ICLRDataTarget's slot 3 (GetMachineType).
 *
 * ReadVirtual is all or nothing: the DAC treats a short read as a failure anyway.
 */
#include "config.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "clrdata.h"
#include "core.h"
#include "datatarget.h"
#include "target.h"

struct datatarget {
	const struct cp_clrdata_target_vtbl *vtbl;
	struct {
		const struct cp_runtime_locator_vtbl *vtbl;
	} locator;
	uint32_t refs;
	struct cp_core *core;
	struct cp_target *t;
	uint64_t runtime_base;
};

static struct datatarget *from_locator(void *self)
{
	return (struct datatarget *)((char *)self - offsetof(struct datatarget, locator));
}

static bool guid_eq(const GUID *a, const GUID *b)
{
	return memcmp(a, b, sizeof(*a)) == 0;
}

static HRESULT dt_query_interface(void *self, const GUID *iid, void **out)
{
	struct datatarget *dt = self;

	if (!out)
		return E_POINTER;
	if (guid_eq(iid, &IID_IUnknown) || guid_eq(iid, &IID_ICLRDataTarget)) {
		*out = dt;
	} else if (guid_eq(iid, &IID_ICLRRuntimeLocator) && dt->runtime_base) {
		*out = &dt->locator;
	} else {
		*out = NULL;
		return E_NOINTERFACE;
	}
	dt->refs++;
	return S_OK;
}

static uint32_t dt_add_ref(void *self)
{
	return ++((struct datatarget *)self)->refs;
}

static uint32_t dt_release(void *self)
{
	struct datatarget *dt = self;
	if (--dt->refs == 0) {
		free(dt);
		return 0;
	}
	return dt->refs;
}

static HRESULT dt_get_machine_type(void *self, ULONG32 *machine)
{
	*machine = IMAGE_FILE_MACHINE_AMD64;
	return S_OK;
}

static HRESULT dt_get_pointer_size(void *self, ULONG32 *size)
{
	*size = 8;
	return S_OK;
}

/* Match the DAC's module name against a mapped file's base name, case-insensitively, with
 * or without its extension (the way ClrMD does). */
static bool name_matches(const char *want, const char *path)
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	if (strcasecmp(want, base) == 0)
		return true;
	const char *dot = strrchr(base, '.');
	return dot && strlen(want) == (size_t)(dot - base) && strncasecmp(want, base, dot - base) == 0;
}

static HRESULT dt_get_image_base(void *self, const WCHAR *name, CLRDATA_ADDRESS *base)
{
	struct datatarget *dt = self;
	char want[256];
	size_t n = 0;

	if (!name || !base)
		return E_INVALIDARG;
	for (; name[n] && n < sizeof(want) - 1; n++)
		want[n] = name[n] < 128 ? (char)name[n] : '?';
	want[n] = '\0';
	const char *slash = strrchr(want, '/');
	const char *w = slash ? slash + 1 : want;
	for (size_t i = 0; i < dt->core->n_maps; i++) {
		const struct cp_mapping *m = &dt->core->maps[i];
		if (m->offset == 0 && name_matches(w, m->path)) {
			*base = m->start;
			return S_OK;
		}
	}
	return E_FAIL;
}

static HRESULT dt_read_virtual(void *self, CLRDATA_ADDRESS addr, uint8_t *buf, ULONG32 len, ULONG32 *done)
{
	struct datatarget *dt = self;

	if (done)
		*done = 0;
	if (len == 0)
		return S_OK;
	if (cp_target_read(dt->t, addr, buf, len) < 0)
		return E_FAIL;
	if (done)
		*done = len;
	return S_OK;
}

static HRESULT dt_write_virtual(void *self, CLRDATA_ADDRESS addr, uint8_t *buf, ULONG32 len, ULONG32 *done)
{
	return E_NOTIMPL;	/* a core is read-only */
}

static HRESULT dt_get_tls_value(void *self, ULONG32 tid, ULONG32 index, CLRDATA_ADDRESS *value)
{
	return E_NOTIMPL;
}

static HRESULT dt_set_tls_value(void *self, ULONG32 tid, ULONG32 index, CLRDATA_ADDRESS value)
{
	return E_NOTIMPL;
}

static HRESULT dt_get_current_thread_id(void *self, ULONG32 *tid)
{
	return E_NOTIMPL;
}

static void put64(uint8_t *ctx, size_t off, uint64_t v)
{
	memcpy(ctx + off, &v, 8);
}

static void put16(uint8_t *ctx, size_t off, uint16_t v)
{
	memcpy(ctx + off, &v, 2);
}

/* The AMD64 CONTEXT of @regs, as createdump fills it: control, integer and segment registers. */
static void regs_to_context(const struct user_regs_struct *r, uint32_t flags, uint8_t *ctx)
{
	uint32_t filled = flags & (CONTEXT_CONTROL | CONTEXT_INTEGER | CONTEXT_SEGMENTS);
	uint32_t eflags = r->eflags;

	memcpy(ctx + CTX_FLAGS, &filled, 4);
	if ((flags & CONTEXT_CONTROL) == CONTEXT_CONTROL) {
		put64(ctx, CTX_RBP, r->rbp);
		put64(ctx, CTX_RIP, r->rip);
		put64(ctx, CTX_RSP, r->rsp);
		put16(ctx, CTX_SEGCS, r->cs);
		put16(ctx, CTX_SEGSS, r->ss);
		memcpy(ctx + CTX_EFLAGS, &eflags, 4);
	}
	if ((flags & CONTEXT_INTEGER) == CONTEXT_INTEGER) {
		put64(ctx, CTX_RAX, r->rax);
		put64(ctx, CTX_RBX, r->rbx);
		put64(ctx, CTX_RCX, r->rcx);
		put64(ctx, CTX_RDX, r->rdx);
		put64(ctx, CTX_RSI, r->rsi);
		put64(ctx, CTX_RDI, r->rdi);
		put64(ctx, CTX_R8, r->r8);
		put64(ctx, CTX_R9, r->r9);
		put64(ctx, CTX_R10, r->r10);
		put64(ctx, CTX_R11, r->r11);
		put64(ctx, CTX_R12, r->r12);
		put64(ctx, CTX_R13, r->r13);
		put64(ctx, CTX_R14, r->r14);
		put64(ctx, CTX_R15, r->r15);
	}
	if ((flags & CONTEXT_SEGMENTS) == CONTEXT_SEGMENTS) {
		put16(ctx, CTX_SEGDS, r->ds);
		put16(ctx, CTX_SEGES, r->es);
		put16(ctx, CTX_SEGFS, r->fs);
		put16(ctx, CTX_SEGGS, r->gs);
	}
}

static HRESULT dt_get_thread_context(void *self, ULONG32 tid, ULONG32 flags, ULONG32 size, uint8_t *ctx)
{
	struct datatarget *dt = self;

	/* The DAC asks with sizeof(DT_CONTEXT) = 0x4d0; a bigger buffer is fine. */
	if (!ctx || size < AMD64_CONTEXT_SIZE)
		return E_INVALIDARG;
	for (size_t i = 0; i < dt->core->n_threads; i++)
		if ((ULONG32)dt->core->threads[i].tid == tid) {
			memset(ctx, 0, size);
			regs_to_context(&dt->core->threads[i].regs, flags, ctx);
			return S_OK;
		}
	return E_FAIL;
}

static HRESULT dt_set_thread_context(void *self, ULONG32 tid, ULONG32 size, uint8_t *ctx)
{
	return E_NOTIMPL;
}

static HRESULT dt_request(void *self, ULONG32 code, ULONG32 in_size, uint8_t *in, ULONG32 out_size, uint8_t *out)
{
	return E_NOTIMPL;
}

static const struct cp_clrdata_target_vtbl target_vtbl = {
	.QueryInterface = dt_query_interface,
	.AddRef = dt_add_ref,
	.Release = dt_release,
	.GetMachineType = dt_get_machine_type,
	.GetPointerSize = dt_get_pointer_size,
	.GetImageBase = dt_get_image_base,
	.ReadVirtual = dt_read_virtual,
	.WriteVirtual = dt_write_virtual,
	.GetTLSValue = dt_get_tls_value,
	.SetTLSValue = dt_set_tls_value,
	.GetCurrentThreadID = dt_get_current_thread_id,
	.GetThreadContext = dt_get_thread_context,
	.SetThreadContext = dt_set_thread_context,
	.Request = dt_request,
};

static HRESULT loc_query_interface(void *self, const GUID *iid, void **out)
{
	return dt_query_interface(from_locator(self), iid, out);
}

static uint32_t loc_add_ref(void *self)
{
	return dt_add_ref(from_locator(self));
}

static uint32_t loc_release(void *self)
{
	return dt_release(from_locator(self));
}

static HRESULT loc_get_runtime_base(void *self, CLRDATA_ADDRESS *base)
{
	*base = from_locator(self)->runtime_base;
	return S_OK;
}

static const struct cp_runtime_locator_vtbl locator_vtbl = {
	.QueryInterface = loc_query_interface,
	.AddRef = loc_add_ref,
	.Release = loc_release,
	.GetRuntimeBase = loc_get_runtime_base,
};

void *cp_datatarget_create(struct cp_core *core, struct cp_target *t, uint64_t runtime_base)
{
	struct datatarget *dt = calloc(1, sizeof(*dt));
	if (!dt)
		return NULL;
	dt->vtbl = &target_vtbl;
	dt->locator.vtbl = &locator_vtbl;
	dt->refs = 1;
	dt->core = core;
	dt->t = t;
	dt->runtime_base = runtime_base;
	return dt;
}
