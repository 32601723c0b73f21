# The weft::tls component of weft's CMake package (find_package(weft
# COMPONENTS tls)): TLS streams on OpenSSL 3.
include(CMakeFindDependencyMacro)
find_dependency(OpenSSL 3.0 COMPONENTS SSL Crypto)
include("${CMAKE_CURRENT_LIST_DIR}/weft-tlsTargets.cmake")
