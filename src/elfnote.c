/*
 * elfnote.c - see elfnote.h. Nothing here allocates: the iterator only hands out
 * pointers into the caller's buffer after checking them.
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "elfnote.h"

void cp_elfnote_iter_init(struct cp_elfnote_iter *it, const void *buf, size_t len, size_t start,
			  size_t align)
{
	it->buf = buf;
	it->len = len;
	it->off = start < len ? start : len;
	it->base = it->off;
	it->align = align == 8 ? 8 : 4;
}

/* Offset @n rounded up to the iterator's alignment from its base, or SIZE_MAX when that
 * would wrap. */
static size_t pad(const struct cp_elfnote_iter *it, size_t n)
{
	size_t a = it->align - 1, rel = n - it->base;
	return rel > SIZE_MAX - a - it->base ? SIZE_MAX : it->base + ((rel + a) & ~a);
}

int cp_elfnote_next(struct cp_elfnote_iter *it, struct cp_elfnote *note, const char **why_ret)
{
	const char *dummy;
	const char **why = why_ret ? why_ret : &dummy;
	uint32_t h[3];

	if (it->len - it->off < sizeof(h))
		return 0;
	memcpy(h, it->buf + it->off, sizeof(h));
	size_t name_off = it->off + sizeof(h);
	if (h[0] > it->len - name_off) {
		*why = "a note's name overruns the notes";
		it->off = it->len;
		return -EBADMSG;
	}
	size_t desc_off = pad(it, name_off + h[0]);
	if (desc_off > it->len || h[1] > it->len - desc_off) {
		*why = "a note's data overruns the notes";
		it->off = it->len;
		return -EBADMSG;
	}
	size_t end = pad(it, desc_off + h[1]);
	note->namesz = h[0];
	note->descsz = h[1];
	note->type = h[2];
	note->name = (const char *)it->buf + name_off;
	note->desc = it->buf + desc_off;
	note->offset = it->off;
	note->end = end < it->len ? end : it->len;
	it->off = note->end;
	return 1;
}

bool cp_elfnote_named(const struct cp_elfnote *note, const char *name)
{
	size_t n = strlen(name) + 1;
	return note->namesz == n && memcmp(note->name, name, n) == 0;
}
