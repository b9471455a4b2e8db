#ifndef CP_TERMSAFE_H
#define CP_TERMSAFE_H

/*
 * termsafe - the one output sanitiser for terminals. Every string that came from a crashed
 * process, a report or a spool directory goes through it before it is printed: nothing in
 * it may move the cursor, set a title, open a hyperlink or reorder what the reader sees.
 *
 * Shown escaped, never emitted:
 *   backslash                    \\   (so an escape in the output is always one we made)
 *   C0 controls and DEL          \t \n \r, else \xNN
 *   invalid UTF-8, raw C1 bytes  \xNN for each byte (e.g. \x9b)
 *   C1 controls as UTF-8         \uNNNN (U+0080..U+009F: e.g. \u009b CSI, \u009d OSC)
 *   bidi marks and overrides     \uNNNN (U+061C, U+200E, U+200F, U+202A..U+202E,
 *                                U+2066..U+2069) and the line/paragraph separators
 *                                U+2028, U+2029
 * Everything else (printable ASCII, valid UTF-8 of other code points) passes as it is.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* True when code point @cp is shown escaped even as valid UTF-8. */
bool cp_termsafe_escaped_cp(uint32_t cp);

/* A new string: @s made safe as above (NULL for NULL). NULL on ENOMEM. */
char *cp_termsafe(const char *s);

/* Write @s made safe to @out. */
void cp_termsafe_fputs(const char *s, FILE *out);

/* Length of the valid UTF-8 sequence at @s (1..4) with its code point in *@cp_ret, or 0:
 * overlong forms, surrogates and code points past U+10FFFF are invalid; a NUL ends @s. The
 * one UTF-8 decoder: the report writer's sanitiser uses it too. */
size_t cp_utf8_decode(const unsigned char *s, uint32_t *cp_ret);

#endif
