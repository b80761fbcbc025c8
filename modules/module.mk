# Included by every module's Makefile.am.  Links each built module into one
# folder of the build tree, $(top_builddir)/modules/.dev, which corrald
# searches when module.path / CORRAL_MODULE_PATH point there (tests, make run).
AM_CPPFLAGS = -I$(top_srcdir)/core/include -I$(top_srcdir)/modules/common
AM_CFLAGS = $(WARN_CFLAGS) $(SAN_CFLAGS)


all-local:
	@mkdir -p $(top_builddir)/modules/.dev
	@for la in $(pkglib_LTLIBRARIES); do \
	  so=$${la%.la}.so; \
	  ln -sf $(abs_builddir)/.libs/$$so $(top_builddir)/modules/.dev/$$so; \
	done
