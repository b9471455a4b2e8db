/*
 * test-elfnote.c - the ELF note iterator (src/elfnote.c): notes in 4- and 8-byte aligned
 * segments, names compared with their NUL, and a note that overruns its buffer ending the
 * walk with a reason instead of reading past it.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "elfnote.h"
#include "unit.h"

/* Append a note to @buf at *@len, padded to @align. */
static void put(unsigned char *buf, size_t *len, size_t align, const char *name, uint32_t type,
		const void *desc, uint32_t descsz)
{
	uint32_t h[3] = { (uint32_t)strlen(name) + 1, descsz, type };
	memcpy(buf + *len, h, 12);
	*len += 12;
	memcpy(buf + *len, name, h[0]);
	*len = (*len + h[0] + align - 1) & ~(align - 1);
	memcpy(buf + *len, desc, descsz);
	*len = (*len + descsz + align - 1) & ~(align - 1);
}

static void test_walk(size_t align)
{
	_Alignas(8) unsigned char buf[256];
	size_t len = 0;
	struct cp_elfnote_iter it;
	struct cp_elfnote n;
	const char *why = NULL;

	memset(buf, 0, sizeof(buf));
	put(buf, &len, align, "GNU", 5, "\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c", 12);
	put(buf, &len, align, "GNU", 3, "\xaa\xbb\xcc\xdd\xee", 5);
	put(buf, &len, align, "CORE", 1, "x", 1);
	cp_elfnote_iter_init(&it, buf, len, 0, align);
	CHECK(cp_elfnote_next(&it, &n, &why) == 1);
	CHECK(n.type == 5 && n.descsz == 12 && n.desc[0] == 1 && n.offset == 0);
	CHECK(cp_elfnote_named(&n, "GNU") && !cp_elfnote_named(&n, "GN") && !cp_elfnote_named(&n, "CORE"));
	CHECK(cp_elfnote_next(&it, &n, &why) == 1);
	CHECK(n.type == 3 && n.descsz == 5 && n.desc[0] == 0xaa && n.desc[4] == 0xee);
	CHECK(cp_elfnote_next(&it, &n, &why) == 1);
	CHECK(n.type == 1 && cp_elfnote_named(&n, "CORE") && n.end == len);
	CHECK(cp_elfnote_next(&it, &n, &why) == 0);
	CHECK(cp_elfnote_next(&it, &n, &why) == 0);

	/* Cut inside the last desc: the first two notes, then a reason. */
	cp_elfnote_iter_init(&it, buf, len - align, 0, align);
	CHECK(cp_elfnote_next(&it, &n, &why) == 1);
	CHECK(cp_elfnote_next(&it, &n, &why) == 1);
	why = NULL;
	CHECK(cp_elfnote_next(&it, &n, &why) == -EBADMSG && why && strstr(why, "data"));
	CHECK(cp_elfnote_next(&it, &n, &why) == 0);
}

static void test_hostile(void)
{
	unsigned char buf[64];
	struct cp_elfnote_iter it;
	struct cp_elfnote n;
	const char *why = NULL;

	/* A name size that wraps, a desc size that wraps once padded. */
	uint32_t h[3] = { UINT32_MAX, 0, 1 };
	memset(buf, 0, sizeof(buf));
	memcpy(buf, h, 12);
	cp_elfnote_iter_init(&it, buf, sizeof(buf), 0, 4);
	CHECK(cp_elfnote_next(&it, &n, &why) == -EBADMSG && why && strstr(why, "name"));
	uint32_t h2[3] = { 4, UINT32_MAX - 1, 1 };
	memcpy(buf, h2, 12);
	cp_elfnote_iter_init(&it, buf, sizeof(buf), 0, 8);
	CHECK(cp_elfnote_next(&it, &n, NULL) == -EBADMSG);
	/* Fewer than 12 bytes, a start past the end, an empty buffer. */
	cp_elfnote_iter_init(&it, buf, 11, 0, 4);
	CHECK(cp_elfnote_next(&it, &n, NULL) == 0);
	cp_elfnote_iter_init(&it, buf, sizeof(buf), 1000, 4);
	CHECK(cp_elfnote_next(&it, &n, NULL) == 0);
	cp_elfnote_iter_init(&it, NULL, 0, 0, 3);
	CHECK(cp_elfnote_next(&it, &n, NULL) == 0);
	/* Zero sizes: a note of 12 bytes, then the next. */
	memset(buf, 0, sizeof(buf));
	cp_elfnote_iter_init(&it, buf, 24, 0, 4);
	CHECK(cp_elfnote_next(&it, &n, NULL) == 1 && n.namesz == 0 && n.descsz == 0 && n.end == 12);
	CHECK(cp_elfnote_next(&it, &n, NULL) == 1 && n.offset == 12);
	CHECK(cp_elfnote_next(&it, &n, NULL) == 0);
}

int main(void)
{
	test_walk(4);
	test_walk(8);
	test_hostile();
	return UNIT_DONE();
}
