# The weft::http component of weft's CMake package (find_package(weft
# COMPONENTS http)): HTTP/1.1 server and client, needing only libweft.
include("${CMAKE_CURRENT_LIST_DIR}/weft-httpTargets.cmake")
