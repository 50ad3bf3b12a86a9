# What `cmake --install` lays out (docs/install.md): the daemon in sbin, the CLI in bin, the built
# web client in share/callbridge/web (callbridged finds it there beside itself: api/static_files),
# man pages generated from the programs' --help (tools/manpage.py), the docs. The Debian package
# (debian/) installs from here and adds the systemd unit, the sysusers entry and /etc/callbridge.
include(GNUInstallDirs)

install(TARGETS callbridged RUNTIME DESTINATION ${CMAKE_INSTALL_SBINDIR})
install(TARGETS callbridge RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
if(TARGET web)
  # The directory is only there once the `web` target ran (part of ALL).
  install(DIRECTORY ${PROJECT_BINARY_DIR}/web/dist/ DESTINATION ${CMAKE_INSTALL_DATADIR}/callbridge/web)
endif()

set(CALLBRIDGE_MAN_DIR ${PROJECT_BINARY_DIR}/man)
add_custom_command(
  OUTPUT ${CALLBRIDGE_MAN_DIR}/callbridged.8 ${CALLBRIDGE_MAN_DIR}/callbridge.1
  COMMAND ${CMAKE_COMMAND} -E make_directory ${CALLBRIDGE_MAN_DIR}
  COMMAND Python3::Interpreter ${PROJECT_SOURCE_DIR}/tools/manpage.py --program $<TARGET_FILE:callbridged>
          --name callbridged --section 8 --summary "the callbridge CTI server"
          --files "/etc/callbridge/callbridge.toml (the packaged service's configuration), /var/lib/callbridge (state: journal, identity, contacts, audit)"
          --see-also "callbridge(1)" --see-also "systemctl(1)" --out ${CALLBRIDGE_MAN_DIR}/callbridged.8
  COMMAND Python3::Interpreter ${PROJECT_SOURCE_DIR}/tools/manpage.py --program $<TARGET_FILE:callbridge>
          --name callbridge --section 1 --summary "command-line client of the callbridge CTI server"
          --see-also "callbridged(8)" --out ${CALLBRIDGE_MAN_DIR}/callbridge.1
  DEPENDS callbridged callbridge ${PROJECT_SOURCE_DIR}/tools/manpage.py
  COMMENT "man pages from --help: callbridged(8), callbridge(1)"
  VERBATIM)
add_custom_target(man ALL DEPENDS ${CALLBRIDGE_MAN_DIR}/callbridged.8 ${CALLBRIDGE_MAN_DIR}/callbridge.1)
install(FILES ${CALLBRIDGE_MAN_DIR}/callbridged.8 DESTINATION ${CMAKE_INSTALL_MANDIR}/man8)
install(FILES ${CALLBRIDGE_MAN_DIR}/callbridge.1 DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)

# The Asterisk dialplan include (docs/dialplan.md), for the admin to copy to the PBX.
install(FILES ${PROJECT_SOURCE_DIR}/contrib/asterisk/callbridge.conf DESTINATION ${CMAKE_INSTALL_DATADIR}/callbridge/asterisk)

install(FILES ${PROJECT_SOURCE_DIR}/README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
file(GLOB CALLBRIDGE_DOCS ${PROJECT_SOURCE_DIR}/docs/*.md)
install(FILES ${CALLBRIDGE_DOCS} DESTINATION ${CMAKE_INSTALL_DOCDIR}/docs)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/docs/img DESTINATION ${CMAKE_INSTALL_DOCDIR}/docs)
