# cp_install_dir.m4 - crashpipe's own macro for an optional install directory.
#
# CP_ARG_WITH_INSTALL_DIR(NAME, DEFAULT, WHAT)
# --with-NAMEdir=DIR installs WHAT in DIR (DEFAULT, a make-time expression such as
# '${prefix}/lib/sysctl.d', when not given); --without-NAMEdir (or =no) skips it.
# Substitutes NAMEdir and defines the Automake conditional INSTALL_<NAME> (upper case).
AC_DEFUN([CP_ARG_WITH_INSTALL_DIR], [dnl
AC_ARG_WITH([$1dir],
	[AS_HELP_STRING([--with-$1dir=DIR], [install $3 there (default: $2, no to skip)])],
	[], [with_$1dir='$2'])
AC_SUBST([$1dir], [$with_$1dir])
AM_CONDITIONAL([INSTALL_]m4_toupper([$1]), [test "x$with_$1dir" != xno])dnl
])
