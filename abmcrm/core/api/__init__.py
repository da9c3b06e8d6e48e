"""The building blocks of every abmcrm API: the exception handler (`errors`), pagination,
view mixins and strict filters."""
