"""From a trained model to a blob: the float graph IR (ir), the ONNX and NIR importers
(onnx_import with onnx_coupling, nir_import), the quantisers (quantize for converted
ANNs, snn_quantize for native SNNs), graph builders (build) and pack, which runs them
in order and writes the .esnn."""
