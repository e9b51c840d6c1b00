# Check: run every input validation alone and print the report (`snakemake check_inputs`).
# Writes nothing under outputs/; fails with the one message naming file, row, column and fix.


rule check_inputs:
    input:
        all_input_files,
    log:
        "logs/check_inputs.log",
    localrule: True
    conda:
        "../envs/aiddeserts.yaml"
    resources:
        mem_mb=mem("check_inputs"),
        runtime=runtime("check_inputs"),
    params:
        code=code("check_inputs.py"),
        config=CONFIG,
    message:
        "Checking every input (nothing is written)"
    script:
        "../scripts/check_inputs.py"
