#ifndef CP_ELFNOTE_H
#define CP_ELFNOTE_H

/*
 * elfnote - the one iterator over ELF notes (Elf64_Nhdr records), for the core reader's
 * PT_NOTE segments, the note writer and the build-id note of a mapped ELF image.
 *
 * A note is a 12-byte header (namesz, descsz, type), the name padded and the desc padded
 * to the segment's alignment: 4 in every core and in most images, 8 in a PT_NOTE whose
 * p_align is 8 (GNU property notes; gABI, "Note Section"). The bytes are whatever the
 * crashed process or the core's writer put there: every size is checked against the
 * buffer before a pointer is formed, and a note that overruns ends the walk.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One note; name and desc point into the iterated buffer (borrowed). */
struct cp_elfnote {
	uint32_t type;
	const char *name;		/* namesz bytes, NUL-terminated only when the writer did */
	uint32_t namesz;
	const unsigned char *desc;
	uint32_t descsz;
	size_t offset;			/* of its header in the buffer */
	size_t end;			/* offset just past its padded desc, at most the buffer's length */
};

struct cp_elfnote_iter {
	const unsigned char *buf;
	size_t len, off;
	size_t base;			/* padding is counted from here: the segment's start */
	size_t align;
};

/* Walk the notes of @buf (@len bytes, borrowed) from @start, where a segment of notes
 * begins (padding is counted from there, wherever it lies in @buf), padded to @align (4 or
 * 8; anything else is taken as 4). */
void cp_elfnote_iter_init(struct cp_elfnote_iter *it, const void *buf, size_t len, size_t start,
			  size_t align);

/* The next note into *@note: returns 1, 0 at the end (fewer than 12 bytes left), or
 * -EBADMSG when the note's name or desc overruns the buffer; then *@why_ret (if not NULL)
 * gets a static description and the walk is over. */
int cp_elfnote_next(struct cp_elfnote_iter *it, struct cp_elfnote *note, const char **why_ret);

/* Is @note named @name (with its NUL, as the writers put it: "CORE", "GNU", "LINUX")? */
bool cp_elfnote_named(const struct cp_elfnote *note, const char *name);

#endif
