# cp_optional_pkg.m4 - crashpipe's own macro for an optional pkg-config dependency.
#
# CP_OPTIONAL_PKG(NAME, VARIABLE-PREFIX, MODULES, DESCRIPTION, DEBIAN-PACKAGE)
# --with-NAME=yes|no|auto (default auto): with auto the feature is on when MODULES are
# found; with yes their absence is an error naming DEBIAN-PACKAGE. On: PKG_CHECK_MODULES's
# PREFIX_CFLAGS/PREFIX_LIBS, the config.h define HAVE_PREFIX, the Automake conditional
# HAVE_PREFIX; have_NAME is yes or no for the summary.
AC_DEFUN([CP_OPTIONAL_PKG], [dnl
AC_ARG_WITH([$1],
	[AS_HELP_STRING([--with-$1], [$4 (default: when found)])],
	[], [with_$1=auto])
have_$1=no
AS_IF([test "x$with_$1" != xno],
      [PKG_CHECK_MODULES([$2], [$3],
		[have_$1=yes
		 AC_DEFINE([HAVE_$2], [1], [Define for $4])],
		[AS_IF([test "x$with_$1" = xyes],
		       [AC_MSG_ERROR([--with-$1: $3 not found (Debian: $5)])])])])
AM_CONDITIONAL([HAVE_$2], [test "x$have_$1" = xyes])dnl
])
