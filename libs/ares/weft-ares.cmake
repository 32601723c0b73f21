# The weft::ares component of weft's CMake package (find_package(weft
# COMPONENTS ares)): the c-ares resolver. Its targets link c-ares by the
# full paths found at build time.
include("${CMAKE_CURRENT_LIST_DIR}/weft-aresTargets.cmake")
