#ifndef CP_CLRDATA_H
#define CP_CLRDATA_H

/*
 * clrdata.h - our own C declarations of the parts of the .NET DAC's COM interfaces that
 * crashpipe uses (clrdata.idl, xclrdata.idl, sospriv.idl, dacprivate.h in dotnet/runtime
 * and dotnet/diagnostics; facts gathered in shared/ref/dotnet-crash-and-dac.md).
 *
 * On Linux x86_64 the DAC's COM calls are plain System V calls with `this` first
 * (STDMETHODCALLTYPE expands to nothing). WCHAR is UTF-16 (char16_t), LONG and HRESULT are
 * 32-bit. An interface pointer points at a pointer to its vtable; slot 0-2 are IUnknown.
 * We call DAC methods by slot number through one typed wrapper per method (below) rather
 * than declaring all ~90 slots of each interface.
 */

#include <stdint.h>

typedef int32_t HRESULT;
typedef uint16_t WCHAR;
typedef uint64_t CLRDATA_ADDRESS;
typedef uint64_t CLRDATA_ENUM;
typedef uint32_t ULONG32;

typedef struct {
	uint32_t data1;
	uint16_t data2, data3;
	uint8_t data4[8];
} GUID;

#define S_OK ((HRESULT)0)
#define S_FALSE ((HRESULT)1)
#define E_NOTIMPL ((HRESULT)0x80004001)
#define E_NOINTERFACE ((HRESULT)0x80004002)
#define E_POINTER ((HRESULT)0x80004003)
#define E_FAIL ((HRESULT)0x80004005)
#define E_INVALIDARG ((HRESULT)0x80070057)
#define SUCCEEDED(hr) ((HRESULT)(hr) >= 0)
#define FAILED(hr) ((HRESULT)(hr) < 0)

#define IMAGE_FILE_MACHINE_AMD64 0x8664

/* IIDs */
#define CP_GUID(a, b, c, d0, d1, d2, d3, d4, d5, d6, d7) \
	{ a, b, c, { d0, d1, d2, d3, d4, d5, d6, d7 } }
static const GUID IID_IUnknown = CP_GUID(0x00000000, 0x0000, 0x0000, 0xc0, 0, 0, 0, 0, 0, 0, 0x46);
static const GUID IID_ICLRDataTarget =
	CP_GUID(0x3e11ccee, 0xd08b, 0x43e5, 0xaf, 0x01, 0x32, 0x71, 0x7a, 0x64, 0xda, 0x03);
static const GUID IID_ICLRRuntimeLocator =
	CP_GUID(0xb760bf44, 0x9377, 0x4597, 0x8b, 0xe7, 0x58, 0x08, 0x3b, 0xdc, 0x51, 0x46);
static const GUID IID_IXCLRDataProcess =
	CP_GUID(0x5c552ab6, 0xfc09, 0x4cb3, 0x8e, 0x36, 0x22, 0xfa, 0x03, 0xc7, 0x98, 0xb7);
static const GUID IID_ISOSDacInterface =
	CP_GUID(0x436f00f2, 0xb42a, 0x4b9f, 0x87, 0x0c, 0xe7, 0x3d, 0xb6, 0x6a, 0xe9, 0x30);
static const GUID IID_ISOSDacInterface2 =
	CP_GUID(0xa16026ec, 0x96f4, 0x40ba, 0x87, 0xfb, 0x55, 0x75, 0x98, 0x6f, 0xb7, 0xaf);
/* cor.h (dotnet/diagnostics src/shared/inc/cor.h) */
static const GUID IID_IMetaDataImport =
	CP_GUID(0x7dac8207, 0xd3ae, 0x4c75, 0x9b, 0x67, 0x92, 0x80, 0x1a, 0x49, 0x7d, 0x44);

/* ICLRDataTarget, implemented by us (slots 3-13). */
struct cp_clrdata_target;
struct cp_clrdata_target_vtbl {
	HRESULT (*QueryInterface)(void *self, const GUID *iid, void **out);
	uint32_t (*AddRef)(void *self);
	uint32_t (*Release)(void *self);
	HRESULT (*GetMachineType)(void *self, ULONG32 *machine);
	HRESULT (*GetPointerSize)(void *self, ULONG32 *size);
	HRESULT (*GetImageBase)(void *self, const WCHAR *name, CLRDATA_ADDRESS *base);
	HRESULT (*ReadVirtual)(void *self, CLRDATA_ADDRESS addr, uint8_t *buf, ULONG32 len, ULONG32 *done);
	HRESULT (*WriteVirtual)(void *self, CLRDATA_ADDRESS addr, uint8_t *buf, ULONG32 len, ULONG32 *done);
	HRESULT (*GetTLSValue)(void *self, ULONG32 tid, ULONG32 index, CLRDATA_ADDRESS *value);
	HRESULT (*SetTLSValue)(void *self, ULONG32 tid, ULONG32 index, CLRDATA_ADDRESS value);
	HRESULT (*GetCurrentThreadID)(void *self, ULONG32 *tid);
	HRESULT (*GetThreadContext)(void *self, ULONG32 tid, ULONG32 flags, ULONG32 size, uint8_t *ctx);
	HRESULT (*SetThreadContext)(void *self, ULONG32 tid, ULONG32 size, uint8_t *ctx);
	HRESULT (*Request)(void *self, ULONG32 code, ULONG32 in_size, uint8_t *in, ULONG32 out_size, uint8_t *out);
};

/* ICLRRuntimeLocator (slot 3), a sub-object of ours: its slot 3 differs from the target's. */
struct cp_runtime_locator_vtbl {
	HRESULT (*QueryInterface)(void *self, const GUID *iid, void **out);
	uint32_t (*AddRef)(void *self);
	uint32_t (*Release)(void *self);
	HRESULT (*GetRuntimeBase)(void *self, CLRDATA_ADDRESS *base);
};

/*
 * The DAC's methods we call: each slot declared once, here, with its type, as an inline
 * wrapper named after the interface and the method (slot numbers from xclrdata.idl and
 * sospriv.idl: 0-2 IUnknown, then the methods in declaration order). No call site casts.
 */
#define CP_COM_SLOT(obj, slot, type) ((type)((*(void *const *const *)(obj))[slot]))

#define CP_COM_METHOD(name, slot, params, args) \
	static inline HRESULT name params \
	{ \
		typedef HRESULT (*fn_t) params; \
		return CP_COM_SLOT(self, slot, fn_t) args; \
	}

/* IUnknown */
CP_COM_METHOD(xclr_query_interface, 0, (void *self, const GUID *iid, void **out), (self, iid, out))
static inline void xclr_release(void *self)
{
	if (self)
		CP_COM_SLOT(self, 2, uint32_t (*)(void *))(self);
}

/* IXCLRDataProcess */
CP_COM_METHOD(xclr_process_flush, 3, (void *self), (self))
CP_COM_METHOD(xclr_process_get_task_by_os_thread_id, 7,
	      (void *self, ULONG32 tid, void **task), (self, tid, task))
CP_COM_METHOD(xclr_process_start_enum_method_instances_by_address, 27,
	      (void *self, CLRDATA_ADDRESS addr, void *app_domain, CLRDATA_ENUM *handle),
	      (self, addr, app_domain, handle))
CP_COM_METHOD(xclr_process_enum_method_instance_by_address, 28,
	      (void *self, CLRDATA_ENUM *handle, void **method), (self, handle, method))
CP_COM_METHOD(xclr_process_end_enum_method_instances_by_address, 29,
	      (void *self, CLRDATA_ENUM handle), (self, handle))
/* IXCLRDataTask */
CP_COM_METHOD(xclr_task_create_stack_walk, 11,
	      (void *self, ULONG32 flags, void **walk), (self, flags, walk))
CP_COM_METHOD(xclr_task_get_current_exception_state, 15,
	      (void *self, void **state), (self, state))
CP_COM_METHOD(xclr_task_get_last_exception_state, 18,
	      (void *self, void **state), (self, state))
/* IXCLRDataStackWalk */
CP_COM_METHOD(xclr_walk_get_context, 3,
	      (void *self, ULONG32 flags, ULONG32 size, ULONG32 *needed, uint8_t *ctx),
	      (self, flags, size, needed, ctx))
CP_COM_METHOD(xclr_walk_next, 5, (void *self), (self))
CP_COM_METHOD(xclr_walk_get_frame_type, 7,
	      (void *self, uint32_t *simple, uint32_t *detailed), (self, simple, detailed))
CP_COM_METHOD(xclr_walk_get_frame, 8, (void *self, void **frame), (self, frame))
CP_COM_METHOD(xclr_walk_set_context2, 10,
	      (void *self, ULONG32 flags, ULONG32 size, uint8_t *ctx), (self, flags, size, ctx))
CP_COM_METHOD(xclr_walk_request, 9,
	      (void *self, ULONG32 code, ULONG32 in_size, uint8_t *in, ULONG32 out_size, uint8_t *out),
	      (self, code, in_size, in, out_size, out))
/* IXCLRDataFrame */
CP_COM_METHOD(xclr_frame_get_method_instance, 11, (void *self, void **method), (self, method))
/* IXCLRDataMethodInstance */
CP_COM_METHOD(xclr_method_get_token_and_scope, 5,
	      (void *self, uint32_t *token, void **module), (self, token, module))
CP_COM_METHOD(xclr_method_get_name, 6,
	      (void *self, ULONG32 flags, ULONG32 size, ULONG32 *len, WCHAR *name),
	      (self, flags, size, len, name))
CP_COM_METHOD(xclr_method_get_il_offsets_by_address, 12,
	      (void *self, CLRDATA_ADDRESS addr, ULONG32 size, ULONG32 *needed, ULONG32 *offsets),
	      (self, addr, size, needed, offsets))
/* IXCLRDataModule */
CP_COM_METHOD(xclr_module_get_file_name, 30,
	      (void *self, ULONG32 size, ULONG32 *len, WCHAR *name), (self, size, len, name))
/* IXCLRDataExceptionState */
CP_COM_METHOD(xclr_exception_get_managed_object, 5, (void *self, void **value), (self, value))
/* IXCLRDataValue */
CP_COM_METHOD(xclr_value_get_address, 4, (void *self, CLRDATA_ADDRESS *addr), (self, addr))
/* ISOSDacInterface */
CP_COM_METHOD(sos_get_thread_store_data, 3, (void *self, void *data), (self, data))
CP_COM_METHOD(sos_get_thread_data, 17,
	      (void *self, CLRDATA_ADDRESS thread, void *data), (self, thread, data))
CP_COM_METHOD(sos_get_object_data, 33,
	      (void *self, CLRDATA_ADDRESS obj, void *data), (self, obj, data))
CP_COM_METHOD(sos_get_object_string_data, 34,
	      (void *self, CLRDATA_ADDRESS obj, unsigned count, WCHAR *buf, unsigned *needed),
	      (self, obj, count, buf, needed))
CP_COM_METHOD(sos_get_method_table_name, 36,
	      (void *self, CLRDATA_ADDRESS mt, unsigned count, WCHAR *buf, unsigned *needed),
	      (self, mt, count, buf, needed))
CP_COM_METHOD(sos_get_module, 12, (void *self, CLRDATA_ADDRESS addr, void **module), (self, addr, module))
CP_COM_METHOD(sos_get_method_desc_name, 22,
	      (void *self, CLRDATA_ADDRESS md, unsigned count, WCHAR *buf, unsigned *needed),
	      (self, md, count, buf, needed))
CP_COM_METHOD(sos_get_method_table_data, 37, (void *self, CLRDATA_ADDRESS mt, void *data), (self, mt, data))
CP_COM_METHOD(sos_get_method_table_field_data, 39,
	      (void *self, CLRDATA_ADDRESS mt, void *data), (self, mt, data))
CP_COM_METHOD(sos_get_field_desc_data, 42, (void *self, CLRDATA_ADDRESS fd, void *data), (self, fd, data))
CP_COM_METHOD(sos_get_useful_globals, 70, (void *self, void *data), (self, data))
/* ISOSDacInterface2 */
CP_COM_METHOD(sos2_get_object_exception_data, 3,
	      (void *self, CLRDATA_ADDRESS obj, void *data), (self, obj, data))

/* IMetaDataImport (cor.h): GetFieldProps is slot 57 */
CP_COM_METHOD(mdi_get_field_props, 57,
	      (void *self, uint32_t field, uint32_t *type_def, WCHAR *name, uint32_t cch, uint32_t *pch,
	       uint32_t *attr, const uint8_t **sig, uint32_t *sig_len, uint32_t *cplus_type, const void **value,
	       uint32_t *value_len),
	      (self, field, type_def, name, cch, pch, attr, sig, sig_len, cplus_type, value, value_len))

enum {
	CLRDATA_SIMPFRAME_UNRECOGNIZED = 0x1,
	CLRDATA_SIMPFRAME_MANAGED_METHOD = 0x2,
	CLRDATA_SIMPFRAME_RUNTIME_MANAGED_CODE = 0x4,
	CLRDATA_SIMPFRAME_RUNTIME_UNMANAGED_CODE = 0x8,
};

#define DACSTACKPRIV_REQUEST_FRAME_DATA 0xf0000000u
#define CLRDATA_IL_OFFSET_NO_MAPPING 0xffffffffu

/* AMD64 CONTEXT as exchanged with the DAC (Windows layout, 0x4d0 bytes). */
#define CONTEXT_AMD64 0x00100000u
#define CONTEXT_CONTROL (CONTEXT_AMD64 | 0x1)
#define CONTEXT_INTEGER (CONTEXT_AMD64 | 0x2)
#define CONTEXT_SEGMENTS (CONTEXT_AMD64 | 0x4)
#define CONTEXT_FLOATING_POINT (CONTEXT_AMD64 | 0x8)
#define CONTEXT_ALL (CONTEXT_AMD64 | 0x1f)
#define CLRDATA_STACK_SET_CURRENT_CONTEXT 1	/* CLRDataStackSetContextFlag */
#define AMD64_CONTEXT_SIZE 0x4d0
enum {
	CTX_FLAGS = 0x30, CTX_MXCSR = 0x34, CTX_SEGCS = 0x38, CTX_SEGDS = 0x3a, CTX_SEGES = 0x3c,
	CTX_SEGFS = 0x3e, CTX_SEGGS = 0x40, CTX_SEGSS = 0x42, CTX_EFLAGS = 0x44,
	CTX_RAX = 0x78, CTX_RCX = 0x80, CTX_RDX = 0x88, CTX_RBX = 0x90, CTX_RSP = 0x98, CTX_RBP = 0xa0,
	CTX_RSI = 0xa8, CTX_RDI = 0xb0, CTX_R8 = 0xb8, CTX_R9 = 0xc0, CTX_R10 = 0xc8, CTX_R11 = 0xd0,
	CTX_R12 = 0xd8, CTX_R13 = 0xe0, CTX_R14 = 0xe8, CTX_R15 = 0xf0, CTX_RIP = 0xf8,
	CTX_FLTSAVE = 0x100,
};

/* dacprivate.h structs, by offset (x86_64). */
struct dacp_thread_store_data {		/* 56 bytes */
	int32_t thread_count, unstarted, background, pending, dead;
	CLRDATA_ADDRESS first_thread, finalizer_thread, gc_thread;
	uint32_t host_config;
};

struct dacp_thread_data {		/* 104 bytes */
	uint32_t cor_thread_id, os_thread_id;
	int32_t state;
	uint32_t preemptive_gc_disabled;
	CLRDATA_ADDRESS alloc_context_ptr, alloc_context_limit, context, domain, frame;
	uint32_t lock_count;
	CLRDATA_ADDRESS first_nested_exception, teb, fiber_data, last_thrown_object_handle, next_thread;
};

struct dacp_exception_object_data {	/* 56 bytes */
	CLRDATA_ADDRESS message, inner_exception, stack_trace, watson_buckets, stack_trace_string,
		remote_stack_trace_string;
	int32_t hresult, xcode;
};

struct dacp_object_data {		/* 96 bytes */
	CLRDATA_ADDRESS method_table;
	int32_t object_type;
	uint64_t size;
	CLRDATA_ADDRESS element_type_handle;
	uint32_t element_type, rank;
	uint64_t num_components, component_size;
	CLRDATA_ADDRESS array_data_ptr, element_type_handle2, element_count, ccw_rcw_data;
	uint64_t pad;
};

struct dacp_method_table_data {	/* 72 bytes */
	int32_t is_free;
	CLRDATA_ADDRESS module, klass, parent_method_table;
	uint16_t num_interfaces, num_methods, num_vtable_slots, num_virtuals;
	uint32_t base_size, component_size, cl, attr_class;
	int32_t is_shared, is_dynamic, contains_pointers;
};

struct dacp_method_table_field_data {	/* 24 bytes */
	uint16_t num_instance_fields, num_static_fields, num_thread_static_fields;
	CLRDATA_ADDRESS first_field;
	uint16_t context_static_offset, context_statics_size;
};

struct dacp_field_desc_data {		/* 64 bytes */
	int32_t type, sig_type;		/* CorElementType */
	CLRDATA_ADDRESS mt_of_type, module_of_type;
	uint32_t token_of_type, mb;
	CLRDATA_ADDRESS mt_of_enclosing_class;
	uint32_t offset;		/* from the end of the object's method table pointer */
	int32_t is_thread_local, is_context_local, is_static;
	CLRDATA_ADDRESS next_field;
};

_Static_assert(sizeof(struct dacp_method_table_data) == 72, "DacpMethodTableData");
_Static_assert(sizeof(struct dacp_method_table_field_data) == 24, "DacpMethodTableFieldData");
_Static_assert(sizeof(struct dacp_field_desc_data) == 64, "DacpFieldDescData");
struct dacp_useful_globals_data {	/* 40 bytes */
	CLRDATA_ADDRESS array_mt, string_mt, object_mt, exception_mt, free_mt;
};

_Static_assert(sizeof(struct dacp_useful_globals_data) == 40, "DacpUsefulGlobalsData");
_Static_assert(sizeof(struct dacp_thread_store_data) == 56, "DacpThreadStoreData");
_Static_assert(sizeof(struct dacp_thread_data) == 104, "DacpThreadData");
_Static_assert(sizeof(struct dacp_exception_object_data) == 56, "DacpExceptionObjectData");
_Static_assert(sizeof(struct dacp_object_data) == 96, "DacpObjectData");

#endif
