# FindPhoneNumber: Google libphonenumber (C++), which ships no CMake config and no .pc file.
# Creates the imported target PhoneNumber::PhoneNumber (headers + libphonenumber + protobuf).
#
# On Debian 12, libphonenumber-dev cannot be installed beside Boost 1.81, so
# scripts/install-deps.sh unpacks its headers into /opt/callbridge-deps; the shared library itself
# comes from the runtime package libphonenumber8. The unpacked libphonenumber.so symlink points to
# a file that only exists in /usr/lib, so we look for the versioned runtime name first.
# libphonenumber.so.8 pulls ICU and absl through its own DT_NEEDED entries; we link protobuf
# ourselves because the generated *.pb.h code we compile calls into it.

find_path(PhoneNumber_INCLUDE_DIR phonenumbers/phonenumberutil.h
  HINTS /opt/callbridge-deps/usr/include)
find_library(PhoneNumber_LIBRARY
  NAMES libphonenumber.so.8 phonenumber
  HINTS /opt/callbridge-deps/usr/lib/x86_64-linux-gnu /usr/lib/x86_64-linux-gnu)
find_package(Protobuf QUIET)
if(NOT Protobuf_FOUND)
  find_library(PhoneNumber_PROTOBUF_LIBRARY NAMES protobuf)
endif()

include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(PhoneNumber
  REQUIRED_VARS PhoneNumber_LIBRARY PhoneNumber_INCLUDE_DIR)

if(PhoneNumber_FOUND AND NOT TARGET PhoneNumber::PhoneNumber)
  add_library(PhoneNumber::PhoneNumber UNKNOWN IMPORTED)
  set_target_properties(PhoneNumber::PhoneNumber PROPERTIES
    IMPORTED_LOCATION "${PhoneNumber_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${PhoneNumber_INCLUDE_DIR}")
  if(TARGET protobuf::libprotobuf)
    set_property(TARGET PhoneNumber::PhoneNumber APPEND PROPERTY
      INTERFACE_LINK_LIBRARIES protobuf::libprotobuf)
  elseif(PhoneNumber_PROTOBUF_LIBRARY)
    set_property(TARGET PhoneNumber::PhoneNumber APPEND PROPERTY
      INTERFACE_LINK_LIBRARIES "${PhoneNumber_PROTOBUF_LIBRARY}")
  endif()
endif()
mark_as_advanced(PhoneNumber_INCLUDE_DIR PhoneNumber_LIBRARY PhoneNumber_PROTOBUF_LIBRARY)
